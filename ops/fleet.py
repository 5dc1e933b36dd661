"""What the broker says about the fleet, judged as the boards judge it: the model of ``bedboard status``.

Pure Python (no paho): messages in, each with its retain flag and the
monotonic time it was received; wards and devices out, each with a verdict.
The rules are the contract's (docs/contract.md, "Rules"):

* rule 2 per (ward, agent): a lower ``seq`` from the same agent is ignored
  and the ward is *not reporting: panel reset* until that agent's ``seq``
  passes the highest seen; an equal ``seq`` with the same counts is a
  heartbeat, with different counts a conflict (the newer message is applied
  and the ward flagged); two agents heard for one ward are flagged;
* rule 3: a ward is not reporting when its agent says ``offline`` — unless a
  live state from that agent came after it — or nothing arrived within
  ``stale_after``;
* a retained copy is not a sign of life: it stands for at most a heartbeat ×
  1.25.  A one-shot look at the broker cannot tell how old a retained copy
  is, so a ward heard only from retained copies is *retained copy only*
  until the listening window is that long, and *not reporting* after;
* an empty payload on a state topic retires the ward;
* a payload that breaks the contract is dropped, and counted (rule 4);
* the wards and devices the configs name (:meth:`Fleet.expect`) are listed
  even when nothing was heard of them — *never heard* is a verdict too;
* a device whose live status keeps changing (FLAPPING changes or more within
  one look) is flagged as a duplicate: with each account bound to one
  connection, two devices given one id close each other's connection in
  turn, and each time the other's ``offline`` will fires.
"""

import logging
from dataclasses import dataclass, field

from bedboard.errors import ContractError
from bedboard.payloads import WardState
from bedboard.topics import parse_status_topic, parse_ward_topic

_LOG = logging.getLogger(__name__)

RETAINED_FACTOR = 1.25
FLAPPING = 4          # live status changes within one look that mean two devices, one id

LIVE = "live"
RETAINED_ONLY = "retained copy only"
NOT_REPORTING = "NOT REPORTING"
NEVER_HEARD = "never"     # a ward the configs name, of which nothing was heard


@dataclass
class WardSeen:
    """Everything heard about one ward."""

    key: object                     # WardKey
    state: WardState = None         # the state applied last
    received: float = None          # when it (or its heartbeat) arrived
    retained: bool = True           # whether only retained copies were heard
    heard_live: float = None        # last live (non-retained) state
    last_seq: dict = field(default_factory=dict)    # agent → highest seq
    live_agents: set = field(default_factory=set)   # agents heard live
    reset: tuple = None             # (agent, highest seq, lower seq seen)
    conflicts: int = 0              # equal seq, different counts


@dataclass
class DeviceSeen:
    """A device's status as heard."""

    id: str
    said: bool = False              # whether a status message arrived at all
    online: object = None           # True, False, or None (cleared)
    retained: bool = True           # whether the status heard last was a retained copy
    live_at: float = None           # when a live status last arrived
    changed: float = None           # when a live status changed what was known
    live_state: float = None        # last live state from it (proves it online)
    flips: int = 0                  # live status changes heard


@dataclass(frozen=True)
class WardVerdict:
    """One ward as ``bedboard status`` shows it."""

    key: object
    state: WardState
    heard: str                      # LIVE, RETAINED_ONLY, NOT_REPORTING or NEVER_HEARD
    reporting: object               # True, False, or None (cannot tell yet)
    why: str                        # in words
    notes: tuple                    # flags in words


@dataclass(frozen=True)
class DeviceVerdict:
    """One device as ``bedboard status`` shows it."""

    id: str
    kind: str                       # "agent" (named by a ward's state) or "device"
    status: str                     # online, offline, cleared
    retained: bool
    changed: float                  # when a live status changed it, or None
    confirmed: float                # when a live status last said it, or None
    proved_online: bool             # offline said, but a live state came after
    flips: int = 0                  # live status changes heard in this look
    expected: bool = False          # named by the configs

    @property
    def duplicate(self):
        """Whether its status flaps as two devices with one id make it flap."""
        return self.flips >= FLAPPING


class Fleet:
    """The wards and devices heard on one broker."""

    def __init__(self, prefix, heartbeat=60.0, stale_after=180.0, covers=None):
        self.prefix = prefix
        self.heartbeat = heartbeat
        self.stale_after = stale_after
        self.covers = covers            # WardKey → bool; None: every ward
        self.wards = {}
        self.devices = {}
        self.dropped = {}               # topic → reason of the last drop
        self.retired = set()
        self.expected_wards = set()     # WardKeys the configs name
        self.expected_devices = set()   # device ids the configs name

    def expect(self, wards=(), devices=()):
        """Wards and devices the configs name: listed even if never heard."""
        self.expected_wards.update(w for w in wards
                                   if self.covers is None or self.covers(w))
        self.expected_devices.update(devices)

    @property
    def retained_limit(self):
        """How long a retained copy may stand for the ward: heartbeat × 1.25."""
        return self.heartbeat * RETAINED_FACTOR

    # -- messages in -----------------------------------------------------------
    def arrived(self, topic, payload, retained, received):
        """Take one message (``received``: ``time.monotonic()`` at receipt)."""
        try:
            key, kind = parse_ward_topic(self.prefix, topic)
        except ContractError:
            key = kind = None
        if kind == "state":
            if self.covers is None or self.covers(key):
                self._state(key, payload, retained, received)
            return
        try:
            device = parse_status_topic(self.prefix, topic)
        except ContractError:
            return
        self._status(device, payload, retained, received)

    def _state(self, key, payload, retained, received):
        if not payload:
            self.wards.pop(key, None)
            self.retired.add(key)
            return
        try:
            state = WardState.parse(payload)
        except ContractError as exc:
            self.dropped[str(key)] = str(exc)
            return
        self.retired.discard(key)
        ward = self.wards.setdefault(key, WardSeen(key))
        if not retained:
            ward.live_agents.add(state.agent)
            device = self.devices.setdefault(state.agent, DeviceSeen(state.agent))
            device.live_state = received
        highest = ward.last_seq.get(state.agent)
        if highest is not None and state.seq < highest:
            # rule 2: ignored, and the ward's panel was reset
            ward.reset = (state.agent, highest, state.seq)
            return
        if ward.reset is not None and ward.reset[0] == state.agent:
            ward.reset = None
        ward.last_seq[state.agent] = state.seq
        current = ward.state
        if current is not None and current.agent == state.agent \
                and current.seq == state.seq and not current.same_counts(state):
            ward.conflicts += 1
            _LOG.warning("ward %s: seq %d came with other counts (%s, then %s): a "
                         "conflict, not a heartbeat", key, state.seq,
                         _counts(current), _counts(state))
        ward.state = state
        ward.received = received
        if not retained:
            ward.retained = False
            ward.heard_live = received

    def _status(self, device_id, payload, retained, received):
        device = self.devices.setdefault(device_id, DeviceSeen(device_id))
        text = bytes(payload).strip()
        online = {b"online": True, b"offline": False}.get(text)
        if not retained:
            device.live_at = received
            if not device.said or online != device.online:
                device.changed = received
                if device.said:
                    device.flips += 1
        device.said = True
        device.online = online
        device.retained = retained

    # -- verdicts ----------------------------------------------------------------
    def ward_verdicts(self, started, now):
        """Every ward heard since ``started``, judged at ``now``, sorted by ward."""
        listened = now - started
        verdicts = []
        for key in sorted(set(self.wards) | (self.expected_wards - self.retired)):
            if key in self.wards:
                verdicts.append(self._judge(self.wards[key], listened, now))
            else:
                verdicts.append(WardVerdict(key, None, NEVER_HEARD, False,
                                            "never heard: no state on the broker",
                                            ()))
        return verdicts

    def _judge(self, ward, listened, now):
        state = ward.state
        agent = self.devices.get(state.agent)
        notes = []
        if agent is not None and agent.flips >= FLAPPING:
            notes.append("its agent %s connects and drops again and again: two panels "
                         "with one id? (each login closes the other's connection)"
                         % state.agent)
        if len(ward.live_agents) > 1:
            notes.append("two panels count one ward: %s" % ", ".join(sorted(ward.live_agents)))
        if ward.conflicts:
            notes.append("conflict: seq %d came with different counts (a ledger restored "
                         "from an old copy?)" % state.seq)
        if state.unconfirmed:
            notes.append("unconfirmed: the count came from a copy that may be old, until "
                         "a bed manager's set confirms it")
        if state.mismatched:
            notes.append("%d bed contact(s) whose position the count does not follow"
                         % state.mismatched)
        offline = agent is not None and agent.online is False and not _proved(agent)
        if ward.reset is not None:
            who, high, low = ward.reset
            return WardVerdict(ward.key, state, NOT_REPORTING, False,
                               "panel reset: %s went back from seq %d to %d" % (who, high, low),
                               tuple(notes))
        if offline:
            return WardVerdict(ward.key, state, NOT_REPORTING, False,
                               "panel offline (status offline%s)" % (
                                   ", retained" if agent.retained else ""),
                               tuple(notes))
        if ward.heard_live is not None and now - ward.heard_live <= self.stale_after:
            return WardVerdict(ward.key, state, LIVE, True, "heard live", tuple(notes))
        if ward.heard_live is not None:
            return WardVerdict(ward.key, state, NOT_REPORTING, False,
                               "nothing for %.0f s" % (now - ward.heard_live), tuple(notes))
        if listened >= self.retained_limit:
            return WardVerdict(ward.key, state, NOT_REPORTING, False,
                               "only a retained copy, nothing live for %.0f s (more than "
                               "a heartbeat × %.2f)" % (listened, RETAINED_FACTOR),
                               tuple(notes))
        said = ""
        if agent is not None and agent.online is True:
            said = ", status online%s" % (" (retained)" if agent.retained else "")
        return WardVerdict(ward.key, state, RETAINED_ONLY, None,
                           "not heard live in %.0f s%s" % (listened, said), tuple(notes))

    def device_verdicts(self):
        """Every device that has a status or sent a live state, sorted by id."""
        agents = {w.state.agent for w in self.wards.values()}
        verdicts = []
        for device_id in sorted(set(self.devices) | self.expected_devices):
            device = self.devices.get(device_id) or DeviceSeen(device_id)
            proved = device.online is not True and _proved(device)
            if proved or device.online is True:
                status = "online"
            elif device.online is False:
                status = "offline"
            else:
                status = "cleared" if device.said else "no status"
            verdicts.append(DeviceVerdict(device_id, "agent" if device_id in agents
                                          else "device", status, device.retained,
                                          device.changed, device.live_at, proved,
                                          device.flips,
                                          device_id in self.expected_devices))
        return verdicts


def _proved(device):
    """Whether a live state from ``device`` came after its last live status."""
    return device.live_state is not None and (device.live_at is None
                                              or device.live_state > device.live_at)


def _counts(state):
    return "occupied %d, blocked %d of %d" % (state.occupied, state.blocked, state.capacity)
