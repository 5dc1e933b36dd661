"""``bedboard hold`` and ``bedboard release``: beds held for a referral, from the referral desk.

docs/contract.md, "Checks and holds".  A hold or a release is a SetCommand
without counts (its ``hold`` or ``release``), sent, answered and seen on
the broker exactly as ``bedboard set`` sends a correction
(:func:`ops.correct.correct`): a ward the broker has never heard of, or
whose panel says ``offline``, is refused before anything is sent; the
agent is the judge of the rest (more beds asked than are vacant, a hold it
does not keep) and answers with its reason; silence is said too.
"""

import logging
import os

from bedboard.errors import ConfigError, ContractError
from bedboard.payloads import SetCommand, utc_now
from bedboard.settings import override_broker

from .correct import correct, parse_ward
from .devices import OPERATOR, read_device

_LOG = logging.getLogger(__name__)


def new_hold_id(kind="hold"):
    """A fresh request id, which is also the hold's: ``hold-`` + UTC time + 6 hex digits."""
    return "%s-%s-%s" % (kind, utc_now().strftime("%Y%m%dT%H%M%SZ"), os.urandom(3).hex())


def describe(applied, command):
    """The one line ``bedboard hold`` or ``release`` prints."""
    state = applied.state
    held = state.held or 0
    if command.hold is not None:
        what = "held %d bed%s for %s (hold %s)" % (
            command.hold["beds"], "" if command.hold["beds"] == 1 else "s",
            command.hold["for"], command.id)
        mine = [h for h in state.holds if h.id == command.id]
        if mine:
            what += ", until %s (%d min)" % (mine[0].until.strftime("%H:%M UTC"),
                                             round(mine[0].left / 60))
    elif command.release.get("arrived"):
        what = "a held bed taken: the referred patient arrived"
    else:
        what = "released %s" % command.release.get("hold", "the hold expiring first")
    return ("%s: %s now has %d vacant, %d held for a referral, %d occupied, %d out of "
            "service of %d beds, seq %d — agent %s, request %s"
            % (what, applied.ward, state.vacant, held, state.occupied,
               state.blocked - held, state.capacity, state.seq, state.agent,
               applied.request))


def _operator(args, verb):
    device = read_device(args.config)
    if device.kind != OPERATOR:
        raise ConfigError(["%s: a%s %s's config: bedboard %s wants the operator's" % (
            device.where(device.kind), "n" if device.kind[0] in "aeiou" else "",
            device.kind, verb)])
    broker = device.broker
    if args.broker:
        broker = override_broker(broker, args.broker)
    wait = args.wait if args.wait is not None else device.settings.wait
    return broker, wait


def hold_from_args(args):
    """Run ``bedboard hold``; return the exit status."""
    broker, wait = _operator(args, "hold")
    ward = parse_ward(args.ward)
    ask = {"for": args.for_whom, "beds": args.beds}
    if args.minutes is not None:
        ask["minutes"] = args.minutes
    try:
        command = SetCommand(hold=ask, by=args.by, reason=args.reason, id=new_hold_id())
    except ContractError as exc:
        raise ConfigError(["bedboard hold: %s" % exc]) from None
    print(describe(correct(broker, ward, command, wait), command))
    return 0


def release_from_args(args):
    """Run ``bedboard release``; return the exit status."""
    broker, wait = _operator(args, "release")
    ward = parse_ward(args.ward)
    ask = {"arrived": bool(args.arrived)}
    if args.hold:
        ask["hold"] = args.hold
    try:
        command = SetCommand(release=ask, by=args.by, reason=args.reason,
                             id=new_hold_id("release"))
    except ContractError as exc:
        raise ConfigError(["bedboard release: %s" % exc]) from None
    print(describe(correct(broker, ward, command, wait), command))
    return 0
