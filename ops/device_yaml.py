"""The configs ``bedboard plan`` writes: each device's, and each operator's, as YAML text.

Text, not a YAML dump: each file reads as the examples in config/examples/
do, in the same order and style, with a header that says where it came
from.  Nothing in it depends on when or where it was made — no time, no
line of the inventory — so planning again writes the same bytes, and a new
ward changes no other device's file.  Every text is JSON-quoted where it is
free text (JSON strings are YAML), so a label with a colon, a quote or
Bengali script reads back as written.

A device's files are named as ``bedboard install`` puts them on the Pi,
under /etc/bedboard: ``agent.yaml`` or ``display.yaml``, the password as
``agent.secret`` or ``display.secret`` (a Pi that is both keeps both), and
the CA as ``ca.crt``.
"""

import json
import logging
import os
import re

import yaml

from agent.config import DEFAULT_STATE_DIR

from .install import ETC
from .inventory import DEFAULT_HEARTBEAT

_LOG = logging.getLogger(__name__)

CA_FILE = "ca.crt"
AGENT_FILES = {"config": "agent.yaml", "secret": "agent.secret"}
DISPLAY_FILES = {"config": "display.yaml", "secret": "display.secret"}
PLAIN = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./-]*")
HEADER = ("# Made by \"bedboard plan\" from the hospital's inventory: change the inventory\n"
          "# and plan again rather than this file.\n")


def _yaml_printable(char):
    """Whether ``char`` stands for itself in a YAML quoted scalar (YAML 1.1, 5.1 and 5.4).

    Not a line break either (NEL, LS, PS): inside quotes YAML folds those.
    """
    code = ord(char)
    return (0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or code >= 0x10000) and char not in "\u2028\u2029"


def quoted(text):
    """``text`` as a YAML double-quoted string (JSON's, any unprintable character escaped)."""
    return "".join(c if _yaml_printable(c) else "\\u%04x" % ord(c)
                   for c in json.dumps(text, ensure_ascii=False))


def _plain(text):
    """``text`` for a comment: on one line, printable."""
    return "".join(c if c.isprintable() else " " for c in text)


def scalar(text):
    """``text`` as a YAML scalar: plain when YAML reads it back as this text, else quoted.

    An id is a slug, and slugs YAML would take for something else exist:
    ``on`` (true), ``null``, ``0x10`` (16), ``1_000`` (1000), ``0123`` (83).
    """
    try:
        plain = PLAIN.fullmatch(text) and yaml.safe_load(text) == text
    except yaml.YAMLError:
        plain = False
    return text if plain else quoted(text)


def label_text(label, languages=None):
    """A Label as ``{en: "…", bn: "…"}``: its texts in ``languages`` (a board's
    listed languages; None: English and Bengali, a board's default)."""
    parts = ["%s: %s" % (language, quoted(label.get(language)))
             for language in (languages or ("en", "bn")) if label.get(language)]
    return "{%s}" % ", ".join(parts)


def _broker(broker, username, password_file, ca_file):
    lines = ["broker:",
             "  host: %s" % scalar(broker.host),
             "  port: %d" % broker.port,
             "  prefix: %s" % scalar(broker.prefix),
             "  username: %s" % scalar(username),
             "  password_file: %s" % scalar(password_file)]
    if broker.tls:
        lines.append("  tls: {ca: %s}" % scalar(ca_file))
    return lines


def _name(hospital):
    return _plain(hospital.name.get("en")) if hospital.name and hospital.name.get("en") \
        else hospital.id


def agent_text(inventory, ward):
    """The agent config of ``ward``."""
    hospital = inventory.hospital(ward.hospital)
    department = hospital.department(ward.department)
    lines = ["# %s: the ward agent of %s — %s, ward %s." % (
        ward.agent, _name(hospital), _plain(department.label.get("en") or department.id),
        ward.id)]
    lines += HEADER.splitlines()
    lines += ["agent:",
              "  id: %s" % scalar(ward.agent),
              "  hospital: %s" % scalar(ward.hospital),
              "  department: %s" % scalar(ward.department),
              "  ward: %s" % scalar(ward.id),
              "  capacity: %d" % ward.capacity,
              "  occupied: %d" % ward.occupied,
              "  state_dir: %s" % DEFAULT_STATE_DIR]
    if inventory.heartbeat != DEFAULT_HEARTBEAT:
        lines.append("  heartbeat: %d" % inventory.heartbeat)
    lines += _broker(inventory.broker, ward.agent,
                     os.path.join(ETC, AGENT_FILES["secret"]), os.path.join(ETC, CA_FILE))
    panel = ward.panel
    hold = ", hold: %s" % _number(panel.hold) if panel.hold else ""
    lines.append("inputs:")
    for kind, pin in panel.buttons:
        lines.append("  - {name: %s, kind: %s, pin: %d%s}" % (kind, kind, pin, hold))
    for index, (bed, pin) in enumerate(panel.beds):
        lines.append("  - {name: %s, kind: bed, pin: %d, bed: %s%s}" % (
            _input_name(bed, index), pin, quoted(bed),
            ", occupied_when: open" if panel.occupied_when == "open" else ""))
    if panel.status_led is not None or panel.ack is not None:
        lines.append("outputs:")
        if panel.status_led is not None:
            lines.append("  status_led: {pin: %d}" % panel.status_led)
        if panel.ack is not None:
            lines.append("  ack: {pin: %d, kind: %s}" % panel.ack)
    return "\n".join(lines) + "\n"


def _number(value):
    return ("%d" % value) if float(value).is_integer() else ("%g" % value)


def _input_name(bed, index):
    """An input's name for bed ``bed``: ``bed-12``; ``bed-N`` for a label that cannot be one."""
    name = "bed-" + bed.replace(" ", "_")
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
    if len(name) > 32 or not set(name) <= allowed:
        return "bed-%d" % (index + 1)
    return name


def display_text(inventory, board):
    """The display config of ``board``."""
    hospital = inventory.hospital(board.hospital)
    lines = ["# %s: a lobby board of %s." % (board.id, _name(hospital))]
    lines += HEADER.splitlines()
    lines += ["display:", "  id: %s" % scalar(board.id)]
    if board.title is not None:
        lines.append("  title: %s" % label_text(board.title, board.languages))
    if board.size is not None:
        lines.append("  size: [%d, %d]" % board.size)
    lines.append("  rotate: %d" % board.rotate)
    if board.languages is not None:
        lines.append("  languages: [%s]" % ", ".join(board.languages))
    if board.message is not None:
        lines.append("  message: %s" % label_text(board.message, board.languages))
    lines += _broker(inventory.broker, board.id,
                     os.path.join(ETC, DISPLAY_FILES["secret"]), os.path.join(ETC, CA_FILE))
    lines += ["board:", "  hospital: %s" % scalar(board.hospital)]
    if inventory.heartbeat != DEFAULT_HEARTBEAT:
        lines.append("  heartbeat: %d" % inventory.heartbeat)
    if board.check_within is not None:
        lines.append("  check_within: %g" % board.check_within)
    lines.append("  tiles:")
    for tile in board.tiles:
        lines.append("    - department: %s" % scalar(tile.department))
        if tile.hospital != board.hospital:
            lines.append("      hospital: %s" % scalar(tile.hospital))
        if tile.wards:
            lines.append("      wards: [%s]" % ", ".join(scalar(w) for w in tile.wards))
        lines.append("      label: %s" % label_text(tile.label, board.languages))
    return "\n".join(lines) + "\n"


def operator_text(inventory, name, secret_path, ca_path):
    """Operator ``name``'s config, naming its password and the CA where they are kept."""
    lines = ["# %s: an operator's config, for bedboard status and bedboard set." % name,
             "# Made by \"bedboard plan\"; it names the password and the CA where plan keeps",
             "# them, on this machine.  Elsewhere (a bed manager's PC) copy it with the",
             "# two files and change password_file and ca (chmod 600 the password)."]
    lines += _broker(inventory.broker, name, secret_path, ca_path)
    lines.append("operator:")
    if len(inventory.hospitals) == 1:
        lines.append("  hospital: %s" % scalar(inventory.hospitals[0].id))
    lines.append("  heartbeat: %d" % inventory.heartbeat)
    return "\n".join(lines) + "\n"
