"""A bed manager's ``set`` commands as the agent reads them, and its answers.

Every command that reaches the agent is answered on the ward's ``reply``
topic (a :class:`~bedboard.payloads.SetReply`, QoS 1, not retained) with the
command's ``id``: applied, with the seq of the state that carries it, or
refused, with the reason — so the operators' ``bedboard set`` can tell an
applied correction from a refused one, and either from silence.  This
module decides what a received message *is*; the agent decides whether it
fits the ward, and applies it.

Who sent it (docs/contract.md, "SetCommand"): an operator sends on
``…/set/{operator}``, a topic the broker's ACL lets only the account
``{operator}`` write, so the last topic level is the authenticated account —
not the free-text ``by``, which anyone may fill in.  A command on the old
``…/set`` (tools from before per-operator topics) has no known sender.
"""

import json
import logging
from dataclasses import dataclass

from bedboard.errors import ContractError
from bedboard.payloads import MAX_PAYLOAD, SetCommand, SetReply, utc_now
from bedboard.topics import check_device_id, ward_topic

_LOG = logging.getLogger(__name__)

RETAINED = "a set command must not be retained"


@dataclass(frozen=True)
class SetReading:
    """A received set command: the command, or why it cannot be one.

    ``request_id`` is the command's ``id`` — read from the JSON even when the
    rest of it is invalid, so that the refusal still reaches who asked.
    """

    command: SetCommand = None
    request_id: str = None
    refusal: str = None     # the reply's reason, when it cannot be applied at all
    retained: bool = False
    operator: str = None    # the account it came from (``…/set/{operator}``), or None


def set_topic(prefix, ward, operator=None):
    """Where ``operator`` sends corrections for ``ward`` (None: the old, unattributed topic)."""
    topic = ward_topic(prefix, ward, "set")
    return topic if operator is None else "%s/%s" % (topic, operator)


def set_subscriptions(prefix, ward):
    """The topic filters an agent reads its corrections on: the old one and every operator's."""
    return [set_topic(prefix, ward), set_topic(prefix, ward) + "/+"]


def sender(prefix, ward, topic):
    """``(is a set topic of ward, operator or None)`` for a received topic."""
    plain = set_topic(prefix, ward)
    if topic == plain:
        return True, None
    if topic.startswith(plain + "/"):
        name = topic[len(plain) + 1:]
        try:
            return True, check_device_id(name, "operator")
        except (ContractError, ValueError):
            return True, ""
    return False, None


def read_set(received, operator=None):
    """What a message on the ward's ``set`` topic asks (a ``bedboard.link.Received``).

    ``operator``: the account its topic names (None: the old topic; "": a
    topic level that is no account's name).
    """
    if received.retained:
        # A correction handed out again on a later connect must not be applied again.
        return SetReading(request_id=request_id(received.payload), refusal=RETAINED,
                          retained=True, operator=operator)
    if operator == "":
        return SetReading(request_id=request_id(received.payload),
                          refusal="invalid set topic %s: its last level must be the "
                          "operator's account" % received.topic[-80:])
    try:
        command = SetCommand.parse(received.payload)
    except ContractError as exc:
        return SetReading(request_id=request_id(received.payload),
                          refusal="invalid set command: %s" % exc, operator=operator)
    if operator is not None and command.id is None:
        return SetReading(refusal="a set command from an operator must carry an id "
                          "(so that it is applied once)", operator=operator)
    return SetReading(command=command, request_id=command.id, operator=operator)


def reply(agent_id, request_id, ok, seq=None, reason=None):
    """The SetReply payload (bytes) for one command."""
    return SetReply(ok=ok, agent=agent_id, at=utc_now(), id=request_id, seq=seq,
                    reason=reason).to_json()


def request_id(payload):
    """The ``id`` of a set command that could not be parsed, if one can be read.

    Held to the contract's bounds like the parser beside it: at most
    MAX_PAYLOAD bytes, and JSON nested too deep for the decoder
    (RecursionError) is no id, never an exception.
    """
    try:
        data = bytes(payload)
        if len(data) > MAX_PAYLOAD:
            return None
        obj = json.loads(data.decode("utf-8"))
        candidate = obj.get("id") if isinstance(obj, dict) else None
        if candidate is None:
            return None
        SetReply(ok=False, agent="x", at=utc_now(), id=candidate)   # checks the id
        return candidate
    except (ValueError, ContractError, TypeError, AttributeError, RecursionError):
        return None
