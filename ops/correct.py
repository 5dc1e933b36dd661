"""``bedboard set``: a bed manager's correction, sent, answered and seen on the broker.

The flow (docs/contract.md, "SetCommand" and "SetReply"):

1. read the ward's retained state — a ward the broker has never heard of is
   refused before anything is sent (a typo must not send a command into the
   void) — and its agent's status: a correction to a panel that says
   ``offline`` would be lost (agents keep no session), so it is refused too;
2. publish a SetCommand with a fresh request ``id`` (QoS 1, never retained)
   on ``…/set/{operator}``, the operator's own account as the last topic
   level: the broker lets only that account write there, so the agent knows
   who corrected (``--by`` is the person's own words beside it).  Without a
   user name (a broker that lets anyone in, the demo's) nobody can vouch for
   the sender, and it goes on the old ``…/set``;
3. wait for the agent's SetReply with that id, and for its state with a
   higher ``seq`` and the asked figures; print that state.

A refusal (a SetReply that is not ``ok``) or silence is said in one line,
with exit status 1.  The agent is the judge of the figures: the tool does
not refuse a correction on its own reading of the ward, so that every
correction asked for is in the agent's log.
"""

import logging
import os
import time
from dataclasses import dataclass

from agent.commands import set_topic
from bedboard.errors import ConfigError, ContractError
from bedboard.link import OFFLINE
from bedboard.payloads import SetCommand, SetReply, WardState, utc_now
from bedboard.settings import override_broker
from bedboard.topics import WardKey, status_topic, ward_topic

from . import OpsError
from .devices import OPERATOR, read_device
from .session import Session

_LOG = logging.getLogger(__name__)

SETTLE = 0.3


@dataclass(frozen=True)
class Applied:
    """A correction the ward's agent applied, as its state shows it."""

    ward: WardKey
    state: WardState
    request: str
    replied: bool           # False: an agent that predates SetReply; its state showed it

    def line(self):
        """The one line ``bedboard set`` prints."""
        state = self.state
        blocked = "%d blocked" % state.blocked
        if state.held:
            blocked += " (%d of them held for a referral)" % state.held
        return ("applied: %s now has %d occupied, %s of %d beds (%d vacant), seq "
                "%d — agent %s, request %s" % (self.ward, state.occupied, blocked,
                                                state.capacity, state.vacant, state.seq,
                                                state.agent, self.request))


def new_request_id():
    """A fresh request id: ``set-`` + UTC time + 6 random hex digits."""
    return "set-%s-%s" % (utc_now().strftime("%Y%m%dT%H%M%SZ"), os.urandom(3).hex())


def parse_ward(text):
    """``HOSPITAL/DEPARTMENT/WARD`` as a WardKey, or ConfigError saying what is wrong."""
    parts = text.split("/")
    if len(parts) != 3:
        raise ConfigError(["%s: give the ward as HOSPITAL/DEPARTMENT/WARD, e.g. "
                           "nrs/medicine/female-2" % text])
    try:
        return WardKey(*parts)
    except ContractError as exc:
        raise ConfigError(["%s: %s" % (text, exc)]) from None


def _drain(session, seconds, into):
    deadline = time.monotonic() + seconds
    while True:
        heard = session.next(deadline - time.monotonic())
        if heard is None:
            return
        into.append(heard)


def _describe(state):
    return "%d occupied, %d blocked of %d" % (state.occupied, state.blocked, state.capacity)


def correct(broker, ward, command, wait):
    """Send ``command`` to ``ward``'s agent and see it through; return Applied or raise OpsError."""
    prefix = broker.prefix
    state_topic = ward_topic(prefix, ward, "state")
    reply_topic = ward_topic(prefix, ward, "reply")
    with Session(broker, "bedboard-set") as session:
        heard = []
        session.subscribe([state_topic])
        # The broker sends a subscription's retained message before it answers
        # the next SUBSCRIBE: once this one is acknowledged, the state is in.
        session.subscribe([reply_topic])
        _drain(session, SETTLE, heard)
        current = _last_state(heard, state_topic)
        if current is None:
            raise OpsError("refused before sending: the broker has no state for ward %s: "
                           "no agent has reported it (check the name: bedboard status "
                           "lists the wards)" % ward)
        agent_status = status_topic(prefix, current.agent)
        session.subscribe([agent_status])
        _drain(session, SETTLE, heard)
        said = [h.payload for h in heard if h.topic == agent_status]
        if said and said[-1] == OFFLINE:
            raise OpsError("refused before sending: ward %s's panel (agent %s) is offline, "
                           "and a correction sent now would be lost; bring the panel back, "
                           "then try again" % (ward, current.agent))
        try:
            asked = command.apply_to(current.capacity, current.occupied, current.blocked)
        except ContractError:
            asked = None        # the agent will refuse it, and say why
        session.publish(set_topic(prefix, ward, broker.username), command.to_json())
        return _await(session, ward, command, current, asked, wait, state_topic,
                      reply_topic)


def _last_state(heard, topic):
    states = []
    for item in heard:
        if item.topic == topic and item.payload:
            try:
                states.append(WardState.parse(item.payload))
            except ContractError as exc:
                _LOG.warning("the ward's retained state breaks the contract: %s", exc)
    return states[-1] if states else None


def _await(session, ward, command, current, asked, wait, state_topic, reply_topic):
    deadline = time.monotonic() + wait
    reply, states = None, []
    while time.monotonic() < deadline:
        heard = session.next(min(0.2, deadline - time.monotonic()))
        if heard is None:
            continue
        if heard.topic == reply_topic:
            try:
                answer = SetReply.parse(heard.payload)
            except ContractError as exc:
                _LOG.warning("a reply on %s breaks the contract: %s", reply_topic, exc)
                continue
            if answer.id == command.id:
                reply = answer
                if not reply.ok:
                    raise OpsError("refused by %s: %s (request %s); nothing changed" % (
                        reply.agent, reply.reason or "no reason given", command.id))
        elif heard.topic == state_topic and heard.payload:
            try:
                state = WardState.parse(heard.payload)
            except ContractError:
                continue
            if state.seq > current.seq:
                states.append(state)
        shown = _showing(states, reply, asked)
        if reply is not None and shown is not None:
            return Applied(ward, shown, command.id, replied=True)
    shown = _showing(states, reply, asked)
    if reply is None and shown is not None and asked is not None:
        return Applied(ward, shown, command.id, replied=False)
    if reply is not None:
        raise OpsError("agent %s applied request %s as seq %d, but that state did not "
                       "reach the broker within %.0f s" % (reply.agent, command.id,
                                                           reply.seq, wait))
    raise OpsError("no answer from ward %s's agent %s within %.0f s: the correction may "
                   "not have been applied (request %s; bedboard status shows the ward)"
                   % (ward, current.agent, wait, command.id))


def _showing(states, reply, asked):
    """The state that shows the correction, if one arrived."""
    if reply is not None:
        for state in states:
            if state.seq >= reply.seq:
                return state
        return None
    for state in states:
        if asked is not None and (state.capacity, state.occupied, state.blocked) == asked:
            return state
    return None


def correct_from_args(args):
    """Run ``bedboard set``; return the exit status."""
    device = read_device(args.config)
    if device.kind != OPERATOR:
        raise ConfigError(["%s: a%s %s's config: bedboard set wants the operator's, "
                           "whose account may send corrections" % (
                               device.where(device.kind),
                               "n" if device.kind[0] in "aeiou" else "", device.kind)])
    broker = device.broker
    if args.broker:
        broker = override_broker(broker, args.broker)
    ward = parse_ward(args.ward)
    if args.occupied is None and args.blocked is None and args.capacity is None:
        raise ConfigError(["bedboard set: give at least one of --occupied, --blocked, "
                           "--capacity"])
    try:
        command = SetCommand(occupied=args.occupied, blocked=args.blocked,
                             capacity=args.capacity, by=args.by, reason=args.reason,
                             id=new_request_id())
    except ContractError as exc:
        raise ConfigError(["bedboard set: %s" % exc]) from None
    wait = args.wait if args.wait is not None else device.settings.wait
    applied = correct(broker, ward, command, wait)
    print(applied.line())
    if not applied.replied:
        _LOG.warning("agent %s sent no reply to request %s (an agent older than the reply "
                     "topic?); its state shows the correction", applied.state.agent,
                     applied.request)
    return 0
