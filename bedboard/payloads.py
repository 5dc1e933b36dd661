"""The JSON payloads of the wire contract: WardState, WardEvent, SetCommand.

docs/contract.md, "Topics".  Each is a frozen dataclass that checks itself when it is
made, with one strict parser (bytes in; the object or a
:class:`~bedboard.errors.ContractError` naming what is wrong out) and one
serialiser (``to_json()``, UTF-8 bytes).  Unknown keys are ignored, for
forward compatibility; every bound the contract sets is enforced.
"""

import json
import math
import re
from dataclasses import dataclass, fields
from datetime import datetime, timezone

from .errors import ContractError
from .topics import check_device_id

VERSION = 1
MAX_PAYLOAD = 4096
MAX_BEDS = 100_000
MAX_SEQ = 2 ** 63 - 1
EVENT_KINDS = ("freed", "taken", "blocked", "unblocked", "set", "sensor")
# Additions (docs/contract.md, "Checks and holds"): a bed held for a referral,
# released, taken by the referred patient, expired; the count confirmed.
HOLD_KINDS = ("held", "released", "arrived", "expired", "checked")
EVENT_KINDS = EVENT_KINDS + HOLD_KINDS
MAX_HOLDS = 16           # hold details a WardState lists (the held count covers all)
MAX_HOLD_FOR = 64        # characters of a hold's "for"
MAX_HOLD_MINUTES = 7 * 24 * 60

_AT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
                 r"(Z|\+00:00)")
_BED_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}")
_BY = re.compile(r"[A-Za-z0-9][A-Za-z0-9 @._-]{0,63}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_BOOT = re.compile(r"[0-9a-f]{8,32}")
MAX_HEARTBEAT = 3600
MAX_REASON = 200


# -- field checks ----------------------------------------------------------

def _integer(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ContractError("%s must be an integer, got %s" % (name, _show(value)))
    if not low <= value <= high:
        raise ContractError("%s must be between %d and %d, got %d"
                            % (name, low, high, value))
    return value


def _flag(name, value):
    if not isinstance(value, bool):
        raise ContractError("%s must be true or false, got %s" % (name, _show(value)))
    return value


def _beds(name, value):
    return _integer(name, value, 0, MAX_BEDS)


def _show(value):
    text = json.dumps(value) if isinstance(value, (str, float, list, dict)) \
        else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_at(value):
    if type(value) is datetime and value.tzinfo is timezone.utc:
        return value            # as parse_at makes them: nothing to convert
    if not isinstance(value, datetime) or value.tzinfo is None \
            or value.utcoffset().total_seconds() != 0:
        raise ContractError("at must be a UTC datetime, got %s" % _show(value))
    return value.astimezone(timezone.utc)


def format_at(moment):
    """ISO 8601 UTC with ``Z``; microseconds only when there are any."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += ".%06d" % moment.microsecond
    return text + "Z"


_PARSED_AT = {}          # text: its datetime (a ward's heartbeats repeat its "at")
_PARSED_AT_LIMIT = 4096


def parse_at(text):
    """Parse the contract's ``at`` (``2026-11-25T18:00:00Z``) into an aware datetime."""
    found = _PARSED_AT.get(text) if type(text) is str else None
    if found is None:
        found = _parse_at(text)
        if len(_PARSED_AT) >= _PARSED_AT_LIMIT:
            _PARSED_AT.clear()
        _PARSED_AT[text] = found
    return found


def _parse_at(text):
    match = _AT.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ContractError("at must be an ISO 8601 UTC time like "
                            "2026-11-25T18:00:00Z, got %s" % _show(text))
    year, month, day, hour, minute, second, frac, _ = match.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute),
                        int(second), micro, tzinfo=timezone.utc)
    except ValueError as exc:
        raise ContractError("at is not a real time: %s (%s)" % (text, exc)) from None


def utc_now():
    """Now, in UTC, to the second: what agents stamp into ``at``."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def _check_counts(capacity, occupied, blocked):
    if occupied + blocked > capacity:
        raise ContractError(
            "occupied + blocked must not exceed capacity, got %d + %d > %d"
            % (occupied, blocked, capacity))


# -- parsing ---------------------------------------------------------------

def _reject_constant(name):
    raise ContractError("numbers must be finite, got %s" % name)


# one decoder for every payload: json.loads with an argument builds a new one (and
# its scanner) on each call, a fifth of a state's parse (make bench)
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _load_object(data, what):
    """Bytes → dict, enforcing size, UTF-8, JSON and object-ness."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ContractError("%s payload must be bytes" % what)
    data = bytes(data)
    if len(data) > MAX_PAYLOAD:
        raise ContractError("%s payload is %d bytes, more than %d"
                            % (what, len(data), MAX_PAYLOAD))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError("%s payload is not UTF-8: %s" % (what, exc)) from None
    try:
        obj = _DECODER.decode(text)
    except ContractError:
        raise
    except (ValueError, RecursionError) as exc:
        raise ContractError("%s payload is not JSON: %s" % (what, exc)) from None
    if not isinstance(obj, dict):
        raise ContractError("%s payload must be a JSON object, got %s"
                            % (what, type(obj).__name__))
    for value in obj.values():
        if isinstance(value, float) and not math.isfinite(value):
            raise ContractError("numbers must be finite")
    return obj


def _require(obj, key, what):
    if key not in obj:
        raise ContractError("%s payload lacks %r" % (what, key))
    return obj[key]


def _version(obj, what):
    version = _require(obj, "v", what)
    if isinstance(version, bool) or version != VERSION or not isinstance(version, int):
        raise ContractError("%s v must be %d, got %s" % (what, VERSION, _show(version)))


def _json_bytes(mapping):
    return json.dumps(mapping, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


# -- the payloads ----------------------------------------------------------

@dataclass(frozen=True)
class WardState:
    """A ward's current count, retained on ``{p}/{h}/{d}/{w}/state``."""

    capacity: int
    occupied: int
    seq: int
    at: datetime
    agent: str
    blocked: int = 0
    # Additions to contract v1 (docs/contract.md), optional on the wire and
    # sent only when they differ from these defaults:
    unconfirmed: bool = False   # the count was taken from a copy that may be old
    synced: bool = False        # ``at`` was stamped by a synchronised clock
    mismatched: int = 0         # bed contacts whose position the count does not follow
    # Progress (issue 15): sent by every new agent in every state it publishes;
    # None from an old agent (all three, or none).
    boot: str = None            # random per start of the agent's process, never reused
    beat: int = None            # within one boot, rises by one with every publication
    heartbeat: int = None       # the agent's heartbeat period, seconds
    # Additions for checks and holds (docs/contract.md, "Checks and holds"):
    held: int = None            # beds held for a referral, counted INSIDE blocked;
    #                             None: an agent that knows no holds (nor checks)
    checked: datetime = None    # when a nurse last confirmed the count (agent's clock)
    checked_age: int = None     # seconds since that check, by the agent's monotonic clock
    holds: tuple = ()           # Hold details, soonest to expire first

    def __post_init__(self):
        _beds("capacity", self.capacity)
        _beds("occupied", self.occupied)
        _beds("blocked", self.blocked)
        _check_counts(self.capacity, self.occupied, self.blocked)
        _integer("seq", self.seq, 0, MAX_SEQ)
        object.__setattr__(self, "at", _check_at(self.at))
        check_device_id(self.agent, "agent")
        _flag("unconfirmed", self.unconfirmed)
        _flag("synced", self.synced)
        _beds("mismatched", self.mismatched)
        given = (self.boot is not None) + (self.beat is not None) + (self.heartbeat is not None)
        if given not in (0, 3):
            raise ContractError("boot, beat and heartbeat come together, or none of them")
        if given:
            if not isinstance(self.boot, str) or not _BOOT.fullmatch(self.boot):
                raise ContractError("boot must be 8 to 32 characters of 0-9 a-f, got %s"
                                    % _show(self.boot))
            _integer("beat", self.beat, 1, MAX_SEQ)
            _integer("heartbeat", self.heartbeat, 1, MAX_HEARTBEAT)
        _check_holds(self)

    @property
    def progressive(self):
        """Whether it carries boot, beat and heartbeat (a new agent's state)."""
        return self.boot is not None

    @property
    def vacant(self):
        """Beds a family can have: capacity − occupied − blocked."""
        return self.capacity - self.occupied - self.blocked

    def to_dict(self):
        """The payload as a JSON-ready dict."""
        out = {"v": VERSION, "capacity": self.capacity, "occupied": self.occupied,
               "blocked": self.blocked, "seq": self.seq,
               "at": format_at(self.at), "agent": self.agent}
        if self.unconfirmed:
            out["unconfirmed"] = True
        if self.synced:
            out["synced"] = True
        if self.mismatched:
            out["mismatched"] = self.mismatched
        if self.boot is not None:
            out.update(boot=self.boot, beat=self.beat, heartbeat=self.heartbeat)
        if self.held is not None:
            out["held"] = self.held
        if self.checked is not None:
            out["checked"] = format_at(self.checked)
        if self.checked_age is not None:
            out["checked_age"] = self.checked_age
        if self.holds:
            out["holds"] = [hold.to_dict() for hold in self.holds]
        return out

    @property
    def out_of_service(self):
        """Blocked beds that are not held for a referral (cleaning, broken, no staff)."""
        return self.blocked - (self.held or 0)

    def same_counts(self, other):
        """Whether ``other`` says the same capacity, occupied and blocked."""
        return (self.capacity, self.occupied, self.blocked) == (
            other.capacity, other.occupied, other.blocked)

    def to_json(self):
        """The payload as UTF-8 JSON bytes."""
        return _json_bytes(self.to_dict())

    @classmethod
    def parse(cls, data):
        """Parse a WardState payload, or raise ContractError naming the fault."""
        obj = _load_object(data, "WardState")
        _version(obj, "WardState")
        get = obj.get
        # every field, as __init__ would set them; __post_init__ checks them all.
        # Made without the frozen __init__'s sixteen object.__setattr__ calls: a
        # board parses every state of every ward (the burst in make bench).
        state = object.__new__(cls)
        state.__dict__.update(
            capacity=_require(obj, "capacity", "WardState"),
            occupied=_require(obj, "occupied", "WardState"),
            seq=_require(obj, "seq", "WardState"),
            at=parse_at(_require(obj, "at", "WardState")),
            agent=_require(obj, "agent", "WardState"),
            blocked=get("blocked", 0),
            unconfirmed=get("unconfirmed", False),
            synced=get("synced", False),
            mismatched=get("mismatched", 0),
            boot=get("boot"), beat=get("beat"), heartbeat=get("heartbeat"),
            held=get("held"),
            checked=None if get("checked") is None else parse_at(obj["checked"]),
            checked_age=get("checked_age"),
            holds=_read_holds(get("holds", [])))
        state.__post_init__()
        return state


@dataclass(frozen=True)
class Hold:
    """One hold for a referral, as a WardState lists it (docs/contract.md, "Checks and holds").

    ``id`` names it (a referral desk's release names it); ``beds`` it holds;
    ``for_whom`` (``for`` on the wire) the referral in the desk's words —
    never a patient's name; ``until`` when it expires by the agent's clock,
    ``left`` the seconds left by the agent's monotonic clock when the state
    was published.
    """

    id: str
    beds: int
    until: datetime
    left: int
    for_whom: str = None

    def __post_init__(self):
        _request_id(self.id)
        _integer("hold beds", self.beds, 1, MAX_BEDS)
        object.__setattr__(self, "until", _check_at(self.until))
        _integer("hold left", self.left, 0, MAX_HOLD_MINUTES * 60)
        if self.for_whom is not None:
            hold_for(self.for_whom)

    def to_dict(self):
        """The hold as a JSON-ready dict."""
        return {"id": self.id, "beds": self.beds, "for": self.for_whom,
                "until": format_at(self.until), "left": self.left}


def hold_for(value):
    """Check a hold's ``for``: one line of 1 to MAX_HOLD_FOR characters."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_HOLD_FOR \
            or any(ord(c) < 32 for c in value):
        raise ContractError("a hold's for must be one line of 1 to %d characters, got %s"
                            % (MAX_HOLD_FOR, _show(value)))
    return value


def _read_holds(value):
    if not isinstance(value, list):
        raise ContractError("holds must be a list, got %s" % _show(value))
    if len(value) > MAX_HOLDS:
        raise ContractError("holds lists at most %d, got %d" % (MAX_HOLDS, len(value)))
    holds = []
    for item in value:
        if not isinstance(item, dict):
            raise ContractError("a hold must be an object, got %s" % _show(item))
        holds.append(Hold(id=_require(item, "id", "hold"), beds=_require(item, "beds", "hold"),
                          until=parse_at(_require(item, "until", "hold")),
                          left=_require(item, "left", "hold"), for_whom=item.get("for")))
    return tuple(holds)


def _check_holds(state):
    """held ≤ blocked; the holds listed cover at most the held beds."""
    if state.held is None and state.checked is None and state.checked_age is None \
            and state.holds == ():
        return                  # an agent that knows no holds nor checks
    if state.held is not None:
        _beds("held", state.held)
        if state.held > state.blocked:
            raise ContractError("held beds are counted inside blocked: held %d > blocked %d"
                                % (state.held, state.blocked))
    if state.checked is not None:
        object.__setattr__(state, "checked", _check_at(state.checked))
    if state.checked_age is not None:
        _integer("checked_age", state.checked_age, 0, MAX_SEQ)
    holds = tuple(state.holds)
    object.__setattr__(state, "holds", holds)
    if len(holds) > MAX_HOLDS or not all(isinstance(h, Hold) for h in holds):
        raise ContractError("holds must be at most %d Hold details" % MAX_HOLDS)
    listed = sum(hold.beds for hold in holds)
    if listed > (state.held or 0):
        raise ContractError("holds list %d beds, more than held %d"
                            % (listed, state.held or 0))


@dataclass(frozen=True)
class WardEvent:
    """One change of a ward, for audit, on ``{p}/{h}/{d}/{w}/event``."""

    kind: str
    capacity: int
    occupied: int
    seq: int
    at: datetime
    agent: str
    bed: str = None
    blocked: int = 0
    # Addition to contract v1 (docs/contract.md), optional on the wire and sent
    # only when true: the count this event leaves is the agent's unconfirmed
    # one (as in its WardState).
    unconfirmed: bool = False
    # Additions for checks and holds: the held beds after the change (inside
    # ``blocked``, as in WardState), and the hold a hold event is about.
    held: int = None
    hold: str = None

    def __post_init__(self):
        if self.kind not in EVENT_KINDS:
            raise ContractError("kind must be one of %s, got %s"
                                % (", ".join(EVENT_KINDS), _show(self.kind)))
        if self.bed is not None and (not isinstance(self.bed, str)
                                     or not _BED_LABEL.fullmatch(self.bed)):
            raise ContractError("bed must be null or a label of up to 32 letters, "
                                "digits, spaces, '.', '_' or '-', got %s"
                                % _show(self.bed))
        _beds("capacity", self.capacity)
        _beds("occupied", self.occupied)
        _beds("blocked", self.blocked)
        _check_counts(self.capacity, self.occupied, self.blocked)
        _integer("seq", self.seq, 0, MAX_SEQ)
        object.__setattr__(self, "at", _check_at(self.at))
        check_device_id(self.agent, "agent")
        _flag("unconfirmed", self.unconfirmed)
        if self.held is not None:
            _beds("held", self.held)
            if self.held > self.blocked:
                raise ContractError("held beds are counted inside blocked: held %d > "
                                    "blocked %d" % (self.held, self.blocked))
        if self.hold is not None:
            _request_id(self.hold)

    def to_dict(self):
        """The payload as a JSON-ready dict."""
        out = {"v": VERSION, "kind": self.kind, "bed": self.bed,
               "capacity": self.capacity, "occupied": self.occupied,
               "blocked": self.blocked, "seq": self.seq,
               "at": format_at(self.at), "agent": self.agent}
        if self.unconfirmed:
            out["unconfirmed"] = True
        if self.held is not None:
            out["held"] = self.held
        if self.hold is not None:
            out["hold"] = self.hold
        return out

    def to_json(self):
        """The payload as UTF-8 JSON bytes."""
        return _json_bytes(self.to_dict())

    @classmethod
    def parse(cls, data):
        """Parse a WardEvent payload, or raise ContractError naming the fault."""
        obj = _load_object(data, "WardEvent")
        _version(obj, "WardEvent")
        return cls(kind=_require(obj, "kind", "WardEvent"),
                   bed=obj.get("bed"),
                   capacity=_require(obj, "capacity", "WardEvent"),
                   occupied=_require(obj, "occupied", "WardEvent"),
                   blocked=obj.get("blocked", 0),
                   seq=_require(obj, "seq", "WardEvent"),
                   at=parse_at(_require(obj, "at", "WardEvent")),
                   agent=_require(obj, "agent", "WardEvent"),
                   unconfirmed=obj.get("unconfirmed", False),
                   held=obj.get("held"), hold=obj.get("hold"))


@dataclass(frozen=True)
class SetCommand:
    """A bed manager's correction, on ``{p}/{h}/{d}/{w}/set``.

    Each count is ``None`` when the command leaves it as it is.  Whether the
    result fits the ward (occupied + blocked ≤ capacity) is decided against
    the ward's current state by :meth:`apply_to`.
    """

    occupied: int = None
    capacity: int = None
    blocked: int = None
    by: str = None
    # Additions to contract v1 (docs/contract.md): a request id the agent's
    # SetReply carries back, and the bed manager's reason, for the audit log.
    id: str = None
    reason: str = None
    # Additions (docs/contract.md, "Checks and holds"): instead of counts, a
    # hold for a referral — ``{"for": TEXT, "minutes": M, "beds": N}`` — or
    # the release of one — ``{"hold": ID, "arrived": BOOL}`` (no ``hold``:
    # the one expiring first; ``arrived``: its patient came, a bed taken).
    hold: dict = None
    release: dict = None

    def __post_init__(self):
        given = [f.name for f in fields(self)
                 if f.name in ("occupied", "capacity", "blocked")
                 and getattr(self, f.name) is not None]
        asks = [name for name in ("hold", "release") if getattr(self, name) is not None]
        if len(asks) + bool(given) != 1:
            raise ContractError("SetCommand needs at least one of occupied, "
                                "capacity, blocked" if not asks and not given else
                                "SetCommand takes counts, a hold or a release, one of "
                                "them, got %s" % ", ".join(given + asks))
        if self.hold is not None:
            object.__setattr__(self, "hold", _hold_ask(self.hold))
        if self.release is not None:
            object.__setattr__(self, "release", _release_ask(self.release))
        for name in given:
            _beds(name, getattr(self, name))
        if self.by is not None and (not isinstance(self.by, str)
                                    or not _BY.fullmatch(self.by)):
            raise ContractError("by must be a name of up to 64 letters, digits, "
                                "spaces or @._-, got %s" % _show(self.by))
        if self.id is not None:
            _request_id(self.id)
        if self.reason is not None:
            _reason(self.reason)
        if None not in (self.capacity, self.occupied):
            _check_counts(self.capacity, self.occupied, self.blocked or 0)

    @property
    def counts_given(self):
        """Whether this command corrects counts (not a hold or a release)."""
        return self.hold is None and self.release is None

    def apply_to(self, capacity, occupied, blocked):
        """The ``(capacity, occupied, blocked)`` this command makes of a ward's.

        Raises ContractError if the result would break occupied + blocked ≤
        capacity.
        """
        if not self.counts_given:
            return capacity, occupied, blocked
        result = (capacity if self.capacity is None else self.capacity,
                  occupied if self.occupied is None else self.occupied,
                  blocked if self.blocked is None else self.blocked)
        _check_counts(*result)
        return result

    def to_dict(self):
        """The payload as a JSON-ready dict, without the fields left out."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}

    def to_json(self):
        """The payload as UTF-8 JSON bytes."""
        return _json_bytes(self.to_dict())

    @classmethod
    def parse(cls, data):
        """Parse a SetCommand payload, or raise ContractError naming the fault."""
        obj = _load_object(data, "SetCommand")
        if "v" in obj:
            _version(obj, "SetCommand")
        return cls(occupied=obj.get("occupied"), capacity=obj.get("capacity"),
                   blocked=obj.get("blocked"), by=obj.get("by"), id=obj.get("id"),
                   reason=obj.get("reason"), hold=obj.get("hold"),
                   release=obj.get("release"))


def _hold_ask(value):
    """A SetCommand's ``hold``, checked: ``{"for", "minutes", "beds"}`` (for is required)."""
    if not isinstance(value, dict):
        raise ContractError("hold must be an object, got %s" % _show(value))
    unknown = sorted(set(value) - {"for", "minutes", "beds"})
    if unknown:
        raise ContractError("hold has unknown keys: %s" % ", ".join(unknown))
    out = {"for": hold_for(value.get("for")),
           "beds": _integer("hold beds", value.get("beds", 1), 1, MAX_BEDS)}
    if value.get("minutes") is not None:
        out["minutes"] = _integer("hold minutes", value["minutes"], 1, MAX_HOLD_MINUTES)
    return out


def _release_ask(value):
    """A SetCommand's ``release``, checked: ``{"hold": ID, "arrived": BOOL}``, both optional."""
    if not isinstance(value, dict):
        raise ContractError("release must be an object, got %s" % _show(value))
    unknown = sorted(set(value) - {"hold", "arrived"})
    if unknown:
        raise ContractError("release has unknown keys: %s" % ", ".join(unknown))
    out = {"arrived": _flag("release arrived", value.get("arrived", False))}
    if value.get("hold") is not None:
        out["hold"] = _request_id(value["hold"])
    return out


def _request_id(value):
    if not isinstance(value, str) or not _REQUEST_ID.fullmatch(value):
        raise ContractError("id must be up to 64 letters, digits or ._-, got %s"
                            % _show(value))
    return value


def _reason(value):
    if not isinstance(value, str) or not 0 < len(value) <= MAX_REASON \
            or any(ord(c) < 32 for c in value):
        raise ContractError("reason must be one line of 1 to %d characters, got %s"
                            % (MAX_REASON, _show(value)))
    return value


@dataclass(frozen=True)
class SetReply:
    """An agent's answer to a SetCommand, on ``{p}/{h}/{d}/{w}/reply`` (not retained).

    An addition to contract v1 (docs/contract.md).  ``ok`` with the ``seq``
    of the state that carries the change, or not ``ok`` with the ``reason``
    it was refused; ``id`` is the command's, when it had one.
    """

    ok: bool
    agent: str
    at: datetime
    id: str = None
    seq: int = None
    reason: str = None

    def __post_init__(self):
        _flag("ok", self.ok)
        check_device_id(self.agent, "agent")
        object.__setattr__(self, "at", _check_at(self.at))
        if self.id is not None:
            _request_id(self.id)
        if self.seq is not None:
            _integer("seq", self.seq, 0, MAX_SEQ)
        if self.reason is not None and (not isinstance(self.reason, str)
                                        or len(self.reason) > 1000):
            raise ContractError("reason must be a text of at most 1000 characters")
        if self.ok and self.seq is None:
            raise ContractError("a SetReply that is ok must carry the seq")

    def to_dict(self):
        """The payload as a JSON-ready dict."""
        return {"v": VERSION, "ok": self.ok, "id": self.id, "seq": self.seq,
                "reason": self.reason, "agent": self.agent, "at": format_at(self.at)}

    def to_json(self):
        """The payload as UTF-8 JSON bytes."""
        return _json_bytes(self.to_dict())

    @classmethod
    def parse(cls, data):
        """Parse a SetReply payload, or raise ContractError naming the fault."""
        obj = _load_object(data, "SetReply")
        _version(obj, "SetReply")
        return cls(ok=_require(obj, "ok", "SetReply"),
                   agent=_require(obj, "agent", "SetReply"),
                   at=parse_at(_require(obj, "at", "SetReply")), id=obj.get("id"),
                   seq=obj.get("seq"), reason=obj.get("reason"))
