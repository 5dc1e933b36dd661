"""``bedboard status``: every ward and device on the broker, and whether it is really reporting.

It listens for ``--listen`` seconds and judges what it heard with the
boards' own rules (:mod:`ops.fleet`).  Honesty first: a retained copy is the
broker's memory, not a sign of life, so a ward heard only from retained
copies within a short look is shown as *retained copy only* — neither live
nor dead — and the summary says how long to listen to tell every ward (a
heartbeat × 1.25).  A ward whose panel says ``offline`` is NOT REPORTING at
once.

It subscribes to the ward states first and to the device statuses after, so
that a broker's bounded queue spends itself on the states, which matter
most.  The config may be the operator's (every hospital, or
``operator.hospital``), a display's (exactly the wards its tiles show, and
its ``stale_after``: run on a lobby's Pi, it tells what that board sees) or
an agent's (its own ward: run on the ward's Pi, it tells whether the panel's
login, certificate and broker work, in words).

What the configs name is listed even when the broker never heard of it: a
display's tiles' wards, an agent's own ward, with ``--devices`` every
ward and device of those configs, and with ``--inventory`` every ward and
device of a hospital's inventory (:mod:`ops.inventory`) — *never heard* is
the verdict then, not silence, and the summary names the devices that have
not come up.  Logging in with a device's own config takes that device's
connection while it runs (the broker binds each account to one connection),
and says so first.

*(added, issue 20)* Each ward's beds held for a referral (for whom, until
when and how long is left) and when its count was last checked — the
check's age is the ``checked_age`` its state carries plus the time since
that state arrived (a retained copy's is a lower bound only, as the boards
take it) — or that the check is due: past ``check_within`` (a display's
``board.check_within``, an agent's own, else 2 h), never made, or of
unknown age.  A ward of an agent from before checks and holds says neither.
"""

import json
import logging
import time
from datetime import datetime

from bedboard.settings import override_broker
from bedboard.topics import WardKey, status_filter, ward_filter

from .devices import AGENT, DISPLAY, OPERATOR, files_elsewhere, read_device, read_devices
from .fleet import LIVE, NEVER_HEARD, NOT_REPORTING, RETAINED_ONLY, Fleet
from .inventory import read_inventory
from .session import Session

_LOG = logging.getLogger(__name__)

SETTLE = 0.3
CHECK_WITHIN = 7200.0       # seconds: a count checked longer ago is due (boards' default)


class Look:
    """What to look at, and how to judge it, from the config and the command line."""

    def __init__(self, device, hospital=None, configured=()):
        """``configured``: ``(kind, device id, WardKey or None)`` of what must be listed."""
        settings = device.settings
        self.broker = settings.broker
        self.check_within = CHECK_WITHIN
        self.filters = None
        self.covers = None
        self.wards, self.devices = set(), set()     # what the configs name
        if device.kind == DISPLAY:
            board = settings.board
            self.heartbeat, self.stale_after = 60.0, board.stale_after
            self.check_within = board.check_within
            self.what = "what display %s shows" % device.id
            if board.tiles is None:
                self.hospitals = [board.hospital]
                self.covers = lambda key: key.hospital == board.hospital
            else:
                self.hospitals = sorted({t.hospital for t in board.tiles})
                self.covers = lambda key: any(t.covers(key) for t in board.tiles)
                self.wards.update(key for t in board.tiles for key in t.expected() or ())
        elif device.kind == AGENT:
            ward = settings.ward
            self.heartbeat, self.stale_after = settings.heartbeat, 180.0
            self.check_within = settings.check_within
            self.what = "agent %s's own ward" % device.id
            self.hospitals = [ward.hospital]
            self.covers = lambda key: key == ward
            self.wards.add(ward)
            self.devices.add(device.id)
        elif device.kind == OPERATOR:
            self.heartbeat, self.stale_after = settings.heartbeat, settings.stale_after
            hospital = hospital or settings.hospital
            self.hospitals = [hospital] if hospital else None
            self.what = "hospital %s" % hospital if hospital else "every hospital"
        if hospital and device.kind != OPERATOR:
            self.hospitals = [hospital]
            board_covers = self.covers
            self.covers = lambda key: key.hospital == hospital and board_covers(key)
        prefix = self.broker.prefix
        for kind, ident, ward in configured:
            if kind == AGENT and (self.covers is None or self.covers(ward)):
                self.wards.add(ward)
                self.devices.add(ident)
            elif kind == DISPLAY and device.kind == OPERATOR:
                self.devices.add(ident)
        if self.hospitals is not None:
            self.wards = {w for w in self.wards if w.hospital in self.hospitals}
        if self.hospitals is None:
            self.filters = [ward_filter(prefix, "state")]
        else:
            self.filters = [ward_filter(prefix, "state", hospital=h) for h in self.hospitals]


def listen(look, seconds, name="bedboard-status", clock=time.monotonic):
    """Listen on the broker for ``seconds``; return ``(fleet, started, ended)``."""
    fleet = Fleet(look.broker.prefix, look.heartbeat, look.stale_after, look.covers)
    fleet.expect(look.wards, look.devices)
    with Session(look.broker, name) as session:
        session.subscribe(look.filters)
        session.subscribe([status_filter(look.broker.prefix)])
        started = clock()
        deadline = started + max(seconds, SETTLE)
        while True:
            heard = session.next(deadline - clock())
            if heard is None:
                break
            fleet.arrived(heard.topic, heard.payload, heard.retained, heard.received)
            if clock() >= deadline:
                break
    return fleet, started, clock()


# -- telling it --------------------------------------------------------------

def _wall(monotonic_at, now_monotonic):
    """The local wall-clock time of a monotonic instant, as HH:MM:SS."""
    moment = datetime.now().astimezone().timestamp() - (now_monotonic - monotonic_at)
    return datetime.fromtimestamp(moment).astimezone().strftime("%H:%M:%S")


def _at(state):
    return state.at.strftime("%Y-%m-%d %H:%M") + "Z"


def report(look, fleet, started, ended, listened):
    """The fleet as a dict (what ``--json`` prints)."""
    wards = []
    for verdict in fleet.ward_verdicts(started, ended):
        state = verdict.state
        if state is None:
            wards.append({"ward": str(verdict.key), "heard": NEVER_HEARD, "reporting": False,
                          "why": verdict.why, "notes": [], "capacity": None,
                          "occupied": None, "blocked": None, "vacant": None, "seq": None,
                          "at": None, "agent": None, "heard_live_at": None,
                          **checks_and_holds(None, 0.0, True, look.check_within)})
            continue
        seen = fleet.wards[verdict.key]
        heard = seen.heard_live
        wards.append({
            "ward": str(verdict.key), "capacity": state.capacity,
            "occupied": state.occupied, "blocked": state.blocked, "vacant": state.vacant,
            "seq": state.seq, "at": state.to_dict()["at"], "agent": state.agent,
            "unconfirmed": state.unconfirmed, "synced": state.synced,
            "mismatched": state.mismatched, "heard": verdict.heard,
            "reporting": verdict.reporting, "why": verdict.why,
            "heard_live_at": _wall(heard, ended) if heard is not None else None,
            "notes": list(verdict.notes),
            **checks_and_holds(state, ended - seen.received, seen.retained,
                               look.check_within)})
    devices = [{"id": d.id, "kind": d.kind, "status": d.status, "retained": d.retained,
                "changed_at": _wall(d.changed, ended) if d.changed is not None else None,
                "confirmed_at": _wall(d.confirmed, ended) if d.confirmed is not None
                else None, "proved_online": d.proved_online, "status_changes": d.flips,
                "duplicate": d.duplicate, "configured": d.expected}
               for d in fleet.device_verdicts()]
    return {"broker": look.broker.describe(),
            "prefix": look.broker.prefix, "looked_at": look.what,
            "listened": round(listened, 1), "heartbeat": look.heartbeat,
            "stale_after": look.stale_after,
            "retained_limit": round(fleet.retained_limit, 1),
            "wards": wards, "devices": devices,
            "retired": sorted(str(k) for k in fleet.retired),
            "dropped": [{"ward": k, "reason": v} for k, v in sorted(fleet.dropped.items())]}


def checks_and_holds(state, since, retained, within):
    """A ward's held beds and its count's check, as ``report`` gives them: ``since`` the
    seconds since its state arrived, ``retained`` whether only retained copies came."""
    if state is None or state.held is None:     # an agent from before checks and holds
        return {"held": None, "holds": [], "checked": None, "check_age": None,
                "check_age_at_least": None, "check_due": None, "check_within": within}
    holds = [dict(hold.to_dict(), left=max(0, int(hold.left - since)))
             for hold in state.holds]
    age = None
    if state.checked is not None and state.checked_age is not None:
        age = int(state.checked_age + since)
    # due past the bound, never checked, or of unknown age; a retained copy's age is
    # a lower bound, which can make a check due but never recent
    due = age is None or age >= within
    return {"held": state.held, "holds": holds,
            "checked": None if state.checked is None else state.to_dict()["checked"],
            "check_age": age, "check_age_at_least": retained and age is not None,
            "check_due": due, "check_within": within}


def check_lines(ward):
    """The lines a ward's holds and check add under its row (none for an old agent)."""
    if ward.get("held") is None:
        return []
    lines = []
    for hold in ward["holds"]:
        lines.append("held for referral: %d bed%s for %s (hold %s), until %s, %s left" % (
            hold["beds"], "" if hold["beds"] == 1 else "s", hold["for"] or "the panel",
            hold["id"], hold["until"].replace("T", " ")[:16] + "Z",
            _duration(hold["left"])))
    unlisted = ward["held"] - sum(hold["beds"] for hold in ward["holds"])
    if unlisted > 0:
        lines.append("held for referral: %d bed%s more (not listed)" % (
            unlisted, "" if unlisted == 1 else "s"))
    age = ward["check_age"]
    if not ward["check_due"]:
        lines.append("count checked %s ago%s" % (
            _duration(age), " at least (retained copy)" if ward["check_age_at_least"]
            else ""))
    elif ward["checked"] is None:
        lines.append("! CHECK DUE: the count was never checked")
    elif age is None:
        lines.append("! CHECK DUE: the count was checked at %s, how long ago is not known" % (
            ward["checked"].replace("T", " ")[:16] + "Z"))
    else:
        lines.append("! CHECK DUE: the count not checked for %s%s (bound %s)" % (
            _duration(age), " at least" if ward["check_age_at_least"] else "",
            _duration(ward["check_within"])))
    return lines


def _duration(seconds):
    """``seconds`` as a reader says it: 40 s, 12 min, 5 h 10 min, 2 d 3 h."""
    seconds = int(seconds)
    if seconds < 60:
        return "%d s" % seconds
    minutes = seconds // 60
    if minutes < 60:
        return "%d min" % minutes
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return "%d h" % hours + (" %d min" % minutes if minutes else "")
    days, hours = divmod(hours, 24)
    return "%d d" % days + (" %d h" % hours if hours else "")


def text_lines(data):
    """The report as a technician reads it."""
    lines = ["broker %s (prefix %s), %s; listened %.0f s" % (
        data["broker"], data["prefix"], data["looked_at"], data["listened"])]
    wards = data["wards"]
    if not wards:
        lines.append("no ward has reported to this broker (no retained state%s)"
                     % (" that this login may read" if data["devices"] else ""))
    else:
        width = max(len(w["ward"]) for w in wards)
        agent_width = max([len(w["agent"]) for w in wards if w["agent"]] + [5])
        lines.append("%-*s  %5s %5s %5s %5s %7s  %-17s  %-*s  %s" % (
            width, "WARD", "CAP", "OCC", "BLK", "VAC", "SEQ", "LAST CHANGE (UTC)",
            agent_width, "AGENT", "REPORTING"))
        for ward in wards:
            if ward["heard"] == NEVER_HEARD:
                lines.append("%-*s  %5s %5s %5s %5s %7s  %-17s  %-*s  NOT REPORTING: %s" % (
                    width, ward["ward"], "-", "-", "-", "-", "-", "-", agent_width, "-",
                    ward["why"]))
                continue
            if ward["heard"] == LIVE:
                verdict = "live (heard %s)" % ward["heard_live_at"]
            elif ward["heard"] == RETAINED_ONLY:
                verdict = "retained copy only: %s" % ward["why"]
            else:
                verdict = "NOT REPORTING: %s" % ward["why"]
            lines.append("%-*s  %5d %5d %5d %5d %7d  %-17s  %-*s  %s" % (
                width, ward["ward"], ward["capacity"], ward["occupied"], ward["blocked"],
                ward["vacant"], ward["seq"], ward["at"].replace("T", " ")[:16] + "Z",
                agent_width, ward["agent"], verdict))
            lines += ["%*s  ! %s" % (width, "", note) for note in ward["notes"]]
            lines += ["%*s  %s" % (width, "", line) for line in check_lines(ward)]
    devices = data["devices"]
    if devices:
        width = max(len(d["id"]) for d in devices)
        lines.append("")
        lines.append("%-*s  %-6s  %s" % (width, "DEVICE", "KIND", "STATUS"))
        for device in devices:
            if device["duplicate"]:
                said = ("DUPLICATE? its status changed %d times while listening: two "
                        "devices log in as %s (each login closes the other's connection)"
                        % (device["status_changes"], device["id"]))
            elif device["proved_online"]:
                said = "online (its status says otherwise, but it sent a live state)"
            elif device["changed_at"]:
                said = "%s since %s (heard live)" % (device["status"], device["changed_at"])
            elif device["confirmed_at"]:
                said = "%s (said again live at %s; since before this look)" % (
                    device["status"], device["confirmed_at"])
            elif device["status"] == "no status":
                said = "no status on the broker%s" % (
                    " (never heard: named by the configs)" if device["configured"] else "")
            else:
                said = "%s (retained copy: since before this look)" % device["status"]
            lines.append("%-*s  %-6s  %s" % (width, device["id"], device["kind"], said))
    lines.append("")
    lines.append(_summary(data))
    for dropped in data["dropped"]:
        lines.append("dropped a state of %s that breaks the contract: %s"
                     % (dropped["ward"], dropped["reason"]))
    return lines


def _summary(data):
    wards = data["wards"]
    live = sum(1 for w in wards if w["heard"] == LIVE)
    retained = sum(1 for w in wards if w["heard"] == RETAINED_ONLY)
    silent = sum(1 for w in wards if w["heard"] in (NOT_REPORTING, NEVER_HEARD))
    never = sum(1 for w in wards if w["heard"] == NEVER_HEARD)
    text = "%d ward(s): %d heard live, %d retained copy only, %d not reporting%s." % (
        len(wards), live, retained, silent,
        " (%d never heard)" % never if never else "")
    held = sum(w.get("held") or 0 for w in wards)
    # as the boards count them: of the wards whose figures are shown
    due = sum(1 for w in wards if w.get("check_due") and w["heard"] in (LIVE, RETAINED_ONLY))
    if held:
        text += " %d bed(s) held for a referral." % held
    if due:
        text += " %d ward(s) due a count check." % due
    unheard = [d["id"] for d in data["devices"]
                if d["configured"] and d["status"] == "no status"]
    if unheard:
        text += " Never heard: %s (%d device(s) that have not come up)." % (
            ", ".join(unheard[:20]) + (", …" if len(unheard) > 20 else ""), len(unheard))
    duplicates = [d["id"] for d in data["devices"] if d["duplicate"]]
    if duplicates:
        text += " Two devices with one id? %s." % ", ".join(duplicates)
    if retained:
        text += (" A retained copy is not a sign of life: listen %.0f s (--listen %.0f, "
                 "a heartbeat × 1.25) to tell every ward." % (
                     data["retained_limit"], data["retained_limit"]))
    return text


def inventory_devices(inventory):
    """``(kind, device id, WardKey or None)`` of every agent and board of ``inventory``."""
    return [(AGENT, w.agent, WardKey(w.hospital, w.department, w.id))
            for w in inventory.wards] + [(DISPLAY, b.id, None) for b in inventory.boards]


def status_from_args(args):
    """Run ``bedboard status``; return the exit status."""
    device = read_device(args.config)
    configured = [(d.kind, d.id, d.settings.ward if d.kind == AGENT else None)
                  for d in (read_devices(args.devices, files_elsewhere)
                            if args.devices else ())]
    if args.inventory:
        configured += inventory_devices(read_inventory(args.inventory))
    look = Look(device, hospital=args.hospital, configured=configured)
    if args.broker:
        look.broker = override_broker(look.broker, args.broker)
    if device.kind in (AGENT, DISPLAY) and look.broker.username:
        _LOG.warning("logging in as %s %s: the broker allows one connection per account, "
                     "so the %s itself is disconnected while this runs (and reconnects "
                     "after)", device.kind, look.broker.username, device.kind)
    fleet, started, ended = listen(look, args.listen)
    data = report(look, fleet, started, ended, ended - started)
    if args.json:
        print(json.dumps(data, indent=1, ensure_ascii=False))
    else:
        print("\n".join(text_lines(data)))
    return 0
