"""The agent's config file, read once and checked whole: ``AgentSettings``.

SPEC.md's keys (``agent:``, ``inputs:``, ``uplink:``, ``broker:``) plus
bedboard's additions, each declared here with its type, default and range;
docs/config.md lists them for technicians.  Every
problem is reported at once, with the file, the line and the key, through
:func:`bedboard.settings.load`.
"""

import logging
import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bedboard.errors import ContractError
from bedboard.payloads import MAX_BEDS, WardEvent, utc_now
from bedboard.settings import load, read_broker, read_secret
from bedboard.topics import WardKey, check_device_id, check_slug

from .ward import COUNTING_KINDS, HOLD_INPUTS

_LOG = logging.getLogger(__name__)

INPUT_KINDS = COUNTING_KINDS + HOLD_INPUTS + ("bed",)
DEFAULT_HOLD_MINUTES = 120       # a hold for a referral lasts this long unless told
DEFAULT_CHECK_WITHIN = 7200      # seconds: the count is to be checked this often
PIN_FACTORIES = ("auto", "lgpio", "rpigpio", "pigpio", "native", "mock")
ACK_KINDS = ("led", "buzzer")
# BCM numbers of the GPIOs on a Raspberry Pi's 40-pin header.
LOWEST_PIN, HIGHEST_PIN = 0, 27
DEFAULT_STATE_DIR = "/var/lib/bed-agent"

_INPUT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")


@dataclass(frozen=True)
class InputSettings:
    """One button or bed contact of the panel (an item of ``inputs:``)."""

    name: str
    kind: str
    pin: int
    bed: str = None
    debounce: float = 0.05
    hold: float = 0.0
    pull_up: bool = True
    occupied_when: str = "closed"


@dataclass(frozen=True)
class OutputSettings:
    """The status LED, or the acknowledge LED or buzzer (``outputs:``)."""

    pin: int
    kind: str = "led"
    active_high: bool = True


@dataclass(frozen=True)
class UplinkSettings:
    """Where changes are POSTed for the referral portal (``uplink:``)."""

    url: str
    token: str
    timeout: float = 10.0
    max_backoff: float = 300.0

    def __repr__(self):  # never print the token
        return ("UplinkSettings(url=%r, token='***', timeout=%r, max_backoff=%r)"
                % (self.url, self.timeout, self.max_backoff))


@dataclass(frozen=True)
class AgentSettings:
    """Everything one ward agent is told by its config file."""

    id: str
    ward: WardKey
    capacity: int
    occupied: int
    state_dir: str
    inputs: tuple
    broker: object
    heartbeat: float = 60.0
    pin_factory: str = "auto"
    status_led: OutputSettings = None
    ack: OutputSettings = None
    uplink: UplinkSettings = None
    hold_minutes: float = DEFAULT_HOLD_MINUTES
    check_within: float = DEFAULT_CHECK_WITHIN
    screen: object = None     # agent.screen.ScreenSettings: the panel's small display

    def input_kind(self, kind):
        """The first input of ``kind``, or None."""
        for item in self.inputs:
            if item.kind == kind:
                return item
        return None

    def input_named(self, name):
        """The InputSettings called ``name``, or None."""
        for item in self.inputs:
            if item.name == name:
                return item
        return None


# -- checks ---------------------------------------------------------------

def _input_name(value):
    if not _INPUT_NAME.fullmatch(value):
        raise ValueError("must be 1 to 32 letters, digits, '.', '_' or '-' "
                         "(no spaces), got %r" % value)


def _id_check(check, what):
    """A Section check from a topics.py check, without repeating the key's name."""
    def run(value):
        try:
            check(value, what)
        except ContractError as exc:
            text = str(exc)
            raise ValueError(text[len(what) + 1:] if text.startswith(what + " ")
                             else text) from None
    return run


def _bed_label(value):
    # The WardEvent payload is the one judge of what a bed label may be.
    try:
        WardEvent(kind="sensor", capacity=1, occupied=0, seq=0, at=utc_now(),
                  agent="a", bed=value)
    except ContractError as exc:
        raise ValueError(str(exc).replace("bed must be null or", "must be")) from None


def _url(value):
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// address, got %r" % value)


class _Pins:
    """Remembers which key took each pin, so that a second use is named."""

    def __init__(self):
        self.owners = {}

    def take(self, section, key, pin, owner):
        if pin is None:
            return
        if pin in self.owners:
            section.problem(key, "pin %d is already used by %s" % (pin, self.owners[pin]))
        else:
            self.owners[pin] = owner


# -- reading --------------------------------------------------------------

def _read_pin(section, pins, owner):
    pin = section.integer("pin", low=LOWEST_PIN, high=HIGHEST_PIN)
    pins.take(section, "pin", pin, owner)
    return pin


def _read_input(root, item, path, line, pins, names, beds):
    sec = root.item_section(item, path, line)
    name = sec.text("name", check=_input_name)
    kind = sec.choice("kind", INPUT_KINDS)
    pin = _read_pin(sec, pins, "%s (%s)" % (path, name))
    debounce = sec.number("debounce", 0.05, low=0, high=5)
    hold = sec.number("hold", 0.0, low=0, high=30)
    pull_up = sec.boolean("pull_up", True)
    bed = occupied_when = None
    if kind == "bed":
        bed = sec.text("bed", check=_bed_label)
        occupied_when = sec.choice("occupied_when", ("closed", "open"), "closed")
        if bed is not None:
            if bed in beds:
                sec.problem("bed", "bed %r already has a contact: %s" % (bed, beds[bed]))
            beds.setdefault(bed, path)
    elif kind is not None:
        for key in ("bed", "occupied_when"):
            if sec.has(key):
                sec.problem(key, "only a bed contact (kind: bed) has %s" % key)
    if name is not None:
        if name in names:
            sec.problem("name", "%r is already the name of %s" % (name, names[name]))
        names.setdefault(name, path)
    sec.done()
    if None in (name, kind, pin) or (kind == "bed" and bed is None):
        return None
    return InputSettings(name=name, kind=kind, pin=pin, bed=bed,
                         debounce=float(debounce), hold=float(hold), pull_up=pull_up,
                         occupied_when=occupied_when or "closed")


def _read_output(outputs, key, pins, kinds):
    if not outputs.has(key):
        return None
    sec = outputs.section(key)
    if sec.absent:
        return None
    pin = _read_pin(sec, pins, outputs.key_path(key))
    kind = sec.choice("kind", kinds, kinds[0]) if len(kinds) > 1 else kinds[0]
    active_high = sec.boolean("active_high", True)
    sec.done()
    return None if pin is None else OutputSettings(pin=pin, kind=kind,
                                                   active_high=active_high)


def _read_uplink(root):
    if not root.has("uplink"):
        return None
    sec = root.section("uplink")
    if sec.absent:
        return None
    url = sec.text("url", check=_url)
    token = read_secret(sec, "token_file")
    if not sec.has("token_file"):
        sec.raw("token_file")  # reports it as required
    timeout = sec.number("timeout", 10.0, low=0.5, high=300)
    max_backoff = sec.number("max_backoff", 300.0, low=0.1, high=86400)
    sec.done()
    if url is None or token is None:
        return None
    if urlsplit(url).scheme == "http":
        _LOG.warning("%s: uplink.url %s is plain http: the token travels in clear",
                     sec.problems.name, url)
    return UplinkSettings(url=url, token=token, timeout=float(timeout),
                          max_backoff=float(max_backoff))


def read_agent(root):
    """Build AgentSettings from a config's top-level Section (for ``load``)."""
    broker = read_broker(root)
    agent = root.section("agent", required=True)
    ident = agent.text("id", check=_id_check(check_device_id, "id"))
    hospital = agent.text("hospital", check=_id_check(check_slug, "hospital"))
    department = agent.text("department", check=_id_check(check_slug, "department"))
    ward = agent.text("ward", check=_id_check(check_slug, "ward"))
    capacity = agent.integer("capacity", low=0, high=MAX_BEDS)
    occupied = agent.integer("occupied", 0, low=0, high=MAX_BEDS)
    state_dir = agent.text("state_dir", DEFAULT_STATE_DIR)
    heartbeat = agent.number("heartbeat", 60, low=1, high=3600)
    pin_factory = agent.choice("pin_factory", PIN_FACTORIES, "auto")
    hold_minutes = agent.number("hold_minutes", DEFAULT_HOLD_MINUTES, low=1, high=7 * 24 * 60)
    check_within = agent.number("check_within", DEFAULT_CHECK_WITHIN, low=60,
                                high=7 * 24 * 3600)
    if None not in (capacity, occupied) and occupied > capacity:
        agent.problem("occupied", "must not exceed capacity (%d), got %d"
                      % (capacity, occupied))
    agent.done()

    pins, names, beds = _Pins(), {}, {}
    inputs = []
    listed = root.items("inputs")
    if isinstance(root.raw("inputs", None), list) and not listed:
        root.problem("inputs", "needs at least one button or bed contact")
    for item, path, line in listed:
        setting = _read_input(root, item, path, line, pins, names, beds)
        if setting is not None:
            inputs.append(setting)
    if capacity is not None and len(beds) > capacity:
        root.problem("inputs", "has %d bed contacts, more than the ward's capacity of %d"
                     % (len(beds), capacity))

    outputs = root.section("outputs")
    status_led = _read_output(outputs, "status_led", pins, ("led",))
    ack = _read_output(outputs, "ack", pins, ACK_KINDS)
    outputs.done()

    screen = None
    if root.has("screen"):
        from .screen import read_screen   # pylint: disable=import-outside-toplevel
        screen = read_screen(root, pins, ward or "ward")
    uplink = _read_uplink(root)
    if None in (ident, hospital, department, ward, capacity, occupied, state_dir):
        return None
    return AgentSettings(
        id=ident, ward=WardKey(hospital, department, ward), capacity=capacity,
        occupied=occupied, state_dir=os.path.abspath(state_dir),
        inputs=tuple(inputs), broker=broker, heartbeat=float(heartbeat),
        pin_factory=pin_factory,
        status_led=status_led, ack=ack, uplink=uplink,
        hold_minutes=float(hold_minutes), check_within=float(check_within),
        screen=screen)


def load_agent(path):
    """Read and check the agent config at ``path``; raise ConfigError listing every problem."""
    return load(path, read_agent)
