"""A hospital's inventory: one YAML file that names its broker, wards, panels, boards and operators.

``bedboard plan`` makes every device's config, the broker's files, the
certificates and one bundle per Pi from it (:mod:`ops.plan`); ``bedboard
status --inventory`` lists everything it names.  The shape, at its least::

    hospital: {id: sskm, name: {en: "SSKM Hospital", bn: "এসএসকেএম হাসপাতাল"}}
    broker: {host: broker.sskm.lan}
    departments:
      - id: medicine
        label: {en: Medicine, bn: মেডিসিন}
        wards:
          - {id: male, capacity: 40}
    boards:
      - {id: sskm-lobby-1, tiles: [medicine]}
    operators: [bed-manager-1]

or ``hospitals:`` — a list of ``{id, name, short, departments}`` — for one
broker that serves several.  docs/config.md lists every key.  It is read as
every config is (:mod:`bedboard.settings`): every problem at once, each
with the file, the line and the key, unknown keys included, within the
bounds of :mod:`bedboard.yamlfile`.  A ward's panel (its buttons, bed
contacts, pins and lights) is checked here as far as the inventory can say;
the configs made from it are then read by the devices' own readers
(:mod:`ops.plan`), so nothing a device would refuse leaves ``plan``.
"""

import ipaddress
import logging
import os
import re
from dataclasses import dataclass

from agent.config import ACK_KINDS, HIGHEST_PIN, LOWEST_PIN, _bed_label, _id_check
from agent.ward import COUNTING_KINDS, HOLD_INPUTS
from bedboard.errors import ConfigError, ContractError
from bedboard.payloads import MAX_BEDS
from bedboard.settings import read_file
from bedboard.yamlfile import parse_yaml
from bedboard.topics import DEFAULT_PREFIX, check_device_id, check_prefix, check_slug
from display.config import Label, _read_label
from display.words import default_label

from .inventory_boards import Board, Tile, read_boards

_LOG = logging.getLogger(__name__)

# The panel a ward gets when the inventory says nothing: four buttons, wired
# as docs/install.md ("Wiring a ward panel") shows.
STANDARD_BUTTONS = (("freed", 17), ("taken", 27), ("blocked", 22), ("unblocked", 23))
DEFAULT_OPERATORS = ("bed-manager",)
DEFAULT_HEARTBEAT = 60   # seconds: the agents' own default, and what boards assume
HOST_NAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?")


@dataclass(frozen=True)
class Panel:
    """What is wired to a ward's Pi."""

    buttons: tuple = STANDARD_BUTTONS   # ((kind, pin), ...)
    beds: tuple = ()                    # ((label, pin), ...)
    occupied_when: str = "closed"
    hold: float = 0
    status_led: int = None
    ack: tuple = None                   # (pin, kind)


@dataclass(frozen=True)
class Ward:
    """One ward, counted by one agent."""

    hospital: str
    department: str
    id: str
    capacity: int
    occupied: int
    agent: str              # the agent's device id
    label: Label
    panel: Panel
    line: int               # where the inventory names it
    path: str


@dataclass(frozen=True)
class Department:
    """A department of a hospital: its label and wards."""

    id: str
    label: Label
    wards: tuple


@dataclass(frozen=True)
class Hospital:
    """A hospital: its names and departments."""

    id: str
    name: Label
    short: Label
    departments: tuple

    def department(self, ident):
        """The Department ``ident``, or None."""
        return next((d for d in self.departments if d.id == ident), None)


@dataclass(frozen=True)
class Broker:
    """The broker every device of the inventory connects to."""

    host: str
    port: int
    tls: bool
    prefix: str
    names: tuple            # the names in the broker's certificate: host first


@dataclass(frozen=True)
class Inventory:
    """A whole inventory, read and checked."""

    path: str
    broker: Broker
    hospitals: tuple
    boards: tuple
    operators: tuple
    heartbeat: int = DEFAULT_HEARTBEAT   # the agents' heartbeat, seconds: every device's

    def hospital(self, ident):
        """The Hospital ``ident``, or None."""
        return next((h for h in self.hospitals if h.id == ident), None)

    @property
    def wards(self):
        """Every ward, in the inventory's order."""
        return [w for h in self.hospitals for d in h.departments for w in d.wards]


def _host_name(value):
    try:
        ipaddress.ip_address(value)
        return
    except ValueError:
        pass
    if len(value) > 253 or not HOST_NAME.fullmatch(value):
        raise ValueError("must be a host name or an IP address, got %r" % value)


def _read_broker(root):
    sec = root.section("broker", required=True)
    host = sec.text("host", check=_host_name)
    tls = sec.boolean("tls", True)
    port = sec.integer("port", 8883 if tls else 1883, low=1, high=65535)
    prefix = sec.text("prefix", DEFAULT_PREFIX, check=check_prefix)
    names = [host] if host else []
    for value, path, line in sec.items("names", []):
        try:
            _host_name(value if isinstance(value, str) else "")
        except ValueError:
            sec.problems.add(line, path, "must be a host name or an IP address, got %r"
                             % (value,))
            continue
        if value not in names:
            names.append(value)
    if sec.has("names") and not tls:
        sec.problem("names", "names the broker's certificate, but tls is false")
    sec.done()
    return Broker(host=host, port=port, tls=tls, prefix=prefix, names=tuple(names))


def _pin(sec, key, pins):
    """A GPIO pin (BCM number), used once on the panel."""
    pin = sec.integer(key, None, low=LOWEST_PIN, high=HIGHEST_PIN)
    if pin is None:
        return None
    if pin in pins:
        sec.problem(key, "pin %d is already used by %s" % (pin, pins[pin]))
        return None
    pins[pin] = sec.key_path(key)
    return pin


def _read_panel(ward, capacity, default=Panel()):
    """A ward's ``panel:`` (or the inventory's, for every ward without one)."""
    if not ward.has("panel"):
        return default
    sec = ward.section("panel")
    pins, told = {}, len(sec.problems.found)
    buttons = ()
    if sec.has("buttons"):
        given = sec.section("buttons")
        buttons = tuple((kind, pin) for kind in COUNTING_KINDS + HOLD_INPUTS
                        for pin in [_pin(given, kind, pins)] if pin is not None)
        given.done()
    beds = []
    if sec.has("beds"):
        given = sec.section("beds")
        for label in list(given.mapping):
            pin = _pin(given, label, pins)
            try:
                if isinstance(label, bool) or not isinstance(label, (str, int)):
                    raise ValueError("must be text or a number, got %r" % (label,))
                _bed_label(str(label))
            except ValueError as exc:
                given.problem(label, "a bed's label %s" % exc)
                continue
            if pin is not None:
                beds.append((str(label), pin))
        if not given.mapping:
            sec.problem("beds", "must name at least one bed (label: pin)")
    elif not sec.has("buttons"):
        buttons = STANDARD_BUTTONS
        pins.update((pin, "the standard buttons") for _, pin in STANDARD_BUTTONS)
    if capacity is not None and len(beds) > capacity:
        sec.problem("beds", "has %d bed contacts, more than the ward's capacity of %d"
                    % (len(beds), capacity))
    if not buttons and not beds and len(sec.problems.found) == told:
        sec.problem(None, "needs at least one button or bed contact")
    status_led = _pin(sec, "status_led", pins)
    ack = None
    if isinstance(sec.raw("ack", None), dict):
        given = sec.section("ack")
        pin = _pin(given, "pin", pins)
        kind = given.choice("kind", ACK_KINDS, "led")
        given.done()
        ack = (pin, kind) if pin is not None else None
    elif sec.has("ack"):
        pin = _pin(sec, "ack", pins)
        ack = (pin, "led") if pin is not None else None
    panel = Panel(buttons=buttons, beds=tuple(beds),
                  occupied_when=sec.choice("occupied_when", ("closed", "open"), "closed"),
                  hold=sec.number("hold", 0, low=0, high=10),
                  status_led=status_led, ack=ack)
    sec.done()
    return panel


def _read_wards(dept, hospital, department, default_panel):
    wards, seen = [], set()
    items = dept.items("wards")
    if not items and isinstance(dept.raw("wards", None), list):
        dept.problem("wards", "must list at least one ward")
    for item, path, line in items:
        sec = dept.item_section(item, path, line)
        ident = sec.text("id", check=_id_check(check_slug, "ward"))
        capacity = sec.integer("capacity", low=0, high=MAX_BEDS)
        occupied = sec.integer("occupied", 0, low=0, high=MAX_BEDS)
        if None not in (capacity, occupied) and occupied > capacity:
            sec.problem("occupied", "must not exceed capacity (%d), got %d"
                        % (capacity, occupied))
        agent = sec.text("agent", None, check=_id_check(check_device_id, "agent"))
        label = _read_label(sec, "label")
        panel = _read_panel(sec, capacity, default_panel)
        if ident in seen:
            sec.problem("id", "ward %s is given twice in %s" % (ident, department))
        if agent is None and None not in (ident, hospital, department):
            agent = "%s-%s-%s" % (hospital, department, ident)
            try:
                check_device_id(agent)
            except ContractError:
                sec.problem("id", "the agent's id %s would be longer than 64 characters: "
                            "give the ward agent: ID" % agent)
                agent = None
        sec.done()
        seen.add(ident)
        if None not in (ident, capacity, occupied, agent):
            wards.append(Ward(hospital=hospital, department=department, id=ident,
                              capacity=capacity, occupied=occupied, agent=agent,
                              label=label, panel=panel, line=line, path=path))
    return tuple(wards)


def _read_departments(sec, hospital, panel):
    departments, seen = [], set()
    items = sec.items("departments")
    if not items and isinstance(sec.raw("departments", None), list):
        sec.problem("departments", "must list at least one department")
    for item, path, line in items:
        dept = sec.item_section(item, path, line)
        ident = dept.text("id", check=_id_check(check_slug, "department"))
        label = _read_label(dept, "label")
        if label is None and ident:
            label = Label(**default_label(ident))
        twice = ident in seen
        if twice:
            dept.problem("id", "department %s is given twice" % ident)
        seen.add(ident)
        wards = _read_wards(dept, hospital, ident, panel)
        dept.done()
        if ident and not twice:
            departments.append(Department(id=ident, label=label, wards=wards))
    return tuple(departments)


def _read_hospital(sec, departments_from, panel):
    ident = sec.text("id", check=_id_check(check_slug, "hospital"))
    return Hospital(id=ident, name=_read_label(sec, "name"), short=_read_label(sec, "short"),
                    departments=_read_departments(departments_from, ident, panel))


def _read_hospitals(root):
    panel = _read_panel(root, None)
    if root.has("hospitals"):
        if root.has("hospital") or root.has("departments"):
            root.problem("hospitals", "give either hospital: and departments: (one "
                         "hospital) or hospitals: (several), not both")
        hospitals = []
        for item, path, line in root.items("hospitals"):
            sec = root.item_section(item, path, line)
            hospitals.append(_read_hospital(sec, sec, panel))
            sec.done()
        return hospitals
    sec = root.section("hospital", required=True)
    hospital = _read_hospital(sec, root, panel)
    sec.done()
    return [hospital]


def is_inventory(path):
    """Whether the YAML file at ``path`` is an inventory (a ``hospital:`` or ``hospitals:``).

    A device's or an operator's config has an ``agent:``, ``display:``,
    ``board:`` or ``operator:`` section instead.  A file that cannot be read
    is not one (its reader then says why).
    """
    try:
        document, _ = parse_yaml(path, os.path.basename(path))
    except ConfigError:
        return False
    return isinstance(document, dict) and bool({"hospital", "hospitals"} & set(document)) \
        and not {"agent", "display", "board", "operator"} & set(document)


def read_inventory(path):
    """Read and check the inventory at ``path``; raise ConfigError listing every problem."""
    root, problems = read_file(path)
    broker = _read_broker(root)
    hospitals = _read_hospitals(root)
    seen = {}
    for hospital in hospitals:
        if hospital.id in seen:
            problems.add(1, "hospitals", "hospital %s is given twice" % hospital.id)
        seen[hospital.id] = hospital
    boards = read_boards(root, hospitals)
    heartbeat = root.integer("heartbeat", DEFAULT_HEARTBEAT, low=5, high=3600)
    operators = []
    given = root.items("operators") if root.has("operators") else [
        (name, "operators", 1) for name in DEFAULT_OPERATORS]
    if root.has("operators") and not given and isinstance(root.raw("operators"), list):
        root.problem("operators", "must name at least one operator (one per person who "
                     "corrects counts)")
    for value, key, line in given:
        try:
            check_device_id(value if isinstance(value, str) else "", "operator")
        except ContractError as exc:
            problems.add(line, key, str(exc))
            continue
        if value in operators:
            problems.add(line, key, "operator %s is given twice" % value)
        else:
            operators.append(value)
    root.done()
    _check_ids(problems, hospitals, boards, operators)
    if problems.found:
        raise ConfigError(problems.in_file_order())
    return Inventory(path=path, broker=broker, hospitals=tuple(hospitals),
                     boards=tuple(boards), operators=tuple(operators), heartbeat=heartbeat)


def _check_ids(problems, hospitals, boards, operators):
    """Every device and operator its own id: it is its login on the broker."""
    owners = {name: "operator %s" % name for name in operators}
    said = "%s is already the id of %s: every device and operator needs its own (it is " \
        "its login on the broker)"
    for hospital in hospitals:
        for department in hospital.departments:
            for ward in department.wards:
                if ward.agent in owners:
                    problems.add(ward.line, ward.path, said % (ward.agent,
                                                               owners[ward.agent]))
                owners.setdefault(ward.agent, "the agent of %s (%s)" % (ward.path, "/".join(
                    (ward.hospital, ward.department, ward.id))))
    for board in boards:
        if board.id in owners:
            problems.add(board.line, board.path + ".id", said % (board.id,
                                                                 owners[board.id]))
        owners.setdefault(board.id, "the board of %s" % board.path)


__all__ = ["Board", "Broker", "Department", "Hospital", "Inventory", "Panel", "Tile",
           "Ward", "read_inventory"]
