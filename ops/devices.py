"""The device configs an operator hands to ``bedboard``, read by the programs' own readers.

A config is an agent's (it has ``agent:``), a display's (``display:`` and
``board:``) or an operator's (``operator:``).  Each is read with the reader
its program uses — :func:`agent.config.read_agent`, the display's
``read_display``/``read_board``, :func:`ops.config.read_operator` — so a
config that ``bedboard`` accepts is one the device accepts, and every problem
is told as the devices tell it: ``file:line: key: text``.

One difference: the files a config names (``broker.password_file``,
``broker.tls.*``, ``uplink.token_file``) live on the device, not necessarily
where the config is read.  A caller says how to judge them (``file_check``):
the broker host does not have them at all; ``bedboard install`` has them
under its ``--root``.
"""

import logging
import os
from dataclasses import dataclass

from agent.config import read_agent
from bedboard.errors import ConfigError
from bedboard.settings import read_broker, read_file
from display.config import Settings as DisplaySettings
from display.config import labels_checked, read_board, read_display

from .config import read_operator

_LOG = logging.getLogger(__name__)

AGENT, DISPLAY, OPERATOR = "agent", "display", "operator"
KINDS = (AGENT, DISPLAY, OPERATOR)
# The keys whose values are files on the device.
FILE_KEYS = ("broker.password_file", "broker.tls.ca", "broker.tls.cert",
             "broker.tls.key", "uplink.token_file")
_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class DeviceConfig:
    """One device's config, read and checked."""

    kind: str
    id: str             # the device id; an operator's: its broker.username (or None)
    path: str
    settings: object    # AgentSettings, display Settings or OperatorSettings
    lines: dict         # dotted key → line, for the keys problems may name
    files: dict         # dotted key → the file path the config names

    @property
    def name(self):
        """The file's name, as the programs' own messages give it."""
        return os.path.basename(self.path)

    @property
    def broker(self):
        """Its BrokerSettings."""
        return self.settings.broker

    def where(self, key):
        """``file:line: key`` for a problem about ``key``."""
        return "%s:%d: %s" % (self.name, self.line(key), key)

    def line(self, key):
        """The line of ``key`` (or of the nearest section that has one)."""
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key.rpartition(".")[0]
        return 1


def config_paths(arguments):
    """The config files that ``arguments`` name: files as given, folders searched.

    A folder stands for every ``.yaml`` (or ``.yml``) file under it, in
    sorted order.  Raises ConfigError naming any argument that is neither.
    """
    paths, problems = [], []
    for argument in arguments:
        if os.path.isdir(argument):
            found = []
            for folder, dirs, files in os.walk(argument):
                dirs.sort()
                found += [os.path.join(folder, f) for f in sorted(files)
                          if f.endswith(_SUFFIXES) and not f.startswith(".")]
            if not found:
                problems.append("%s: no .yaml config in this folder" % argument)
            paths += found
        elif os.path.isfile(argument):
            paths.append(argument)
        else:
            problems.append("%s: no such file or folder" % argument)
    if problems:
        raise ConfigError(problems)
    return paths


def _walk(mapping, parts):
    """The MarkedDict holding the last of ``parts``, or None."""
    for part in parts[:-1]:
        mapping = mapping.get(part) if isinstance(mapping, dict) else None
    return mapping if isinstance(mapping, dict) else None


def _lines(root):
    """Every dotted key of the file (two levels deep and the TLS keys) → its line."""
    lines = {}

    def visit(mapping, prefix, depth):
        for key in mapping:
            path = "%s.%s" % (prefix, key) if prefix else str(key)
            lines[path] = getattr(mapping, "lines", {}).get(key, 1)
            value = mapping[key]
            if isinstance(value, dict) and depth < 2:
                if getattr(value, "line", None):
                    lines.setdefault(path, value.line)
                visit(value, path, depth + 1)
    visit(root.mapping, "", 0)
    return lines


def _named_files(root):
    """Dotted file key → the path the config gives (text values only)."""
    files = {}
    for key in FILE_KEYS:
        parts = key.split(".")
        holder = _walk(root.mapping, parts)
        if holder is not None and isinstance(holder.get(parts[-1]), str):
            files[key] = holder[parts[-1]]
    return files


def _kind(root, problems):
    found = [k for k in KINDS if k in root.mapping]
    if DISPLAY not in found and "board" in root.mapping:
        found.append(DISPLAY)
    if len(found) == 1:
        return found[0]
    if not found:
        problems.add(1, "", "not a bedboard config: it has no agent:, display: or "
                     "operator: section")
    else:
        problems.add(1, "", "one config is for one device: it has %s sections"
                     % " and ".join(found))
    return None


def read_device(path, file_check=None):
    """Read and check the config at ``path``; return a DeviceConfig.

    ``file_check(key, named_path)`` judges the files the config names instead
    of the readers: it returns None when the file is fine, else the problem's
    text.  Without it, they must exist here, as on the device.  Raises
    ConfigError listing every problem.
    """
    root, problems = read_file(path)
    kind = _kind(root, problems)
    settings = None
    if kind == AGENT:
        settings = read_agent(root)
    elif kind == DISPLAY:
        settings = DisplaySettings(path=path, broker=read_broker(root),
                                   display=read_display(root),
                                   board=read_board(root, labels_checked(root)))
    elif kind == OPERATOR:
        settings = read_operator(root, path)
    if kind is not None:
        root.done()
    lines, files = _lines(root), _named_files(root)
    found = problems.in_file_order()
    if file_check is not None:
        found = _judge_files(found, problems.name, lines, files, file_check)
    if found:
        raise ConfigError(found)
    if kind == AGENT:
        ident = settings.id
    elif kind == DISPLAY:
        ident = settings.display.id
    else:
        ident = settings.broker.username
    return DeviceConfig(kind=kind, id=ident, path=path, settings=settings,
                        lines=lines, files=files)


def _judge_files(found, name, lines, files, file_check):
    """Replace the readers' verdicts on named files by ``file_check``'s."""
    heads = {"%s:%d: %s: " % (name, lines.get(key, 1), key): key for key in files}
    kept, judged = [], set()
    for text in found:
        head = next((h for h in heads if text.startswith(h)), None)
        if head is None:
            kept.append(text)
            continue
        key = heads[head]
        judged.add(key)
        verdict = file_check(key, files[key])
        if verdict:
            kept.append(head + verdict)
    for key in files:
        if key not in judged:
            verdict = file_check(key, files[key])
            if verdict:
                kept.append("%s:%d: %s: %s" % (name, lines.get(key, 1), key, verdict))
    return kept


def read_devices(arguments, file_check=None):
    """Read every config that ``arguments`` name; raise ConfigError with every problem."""
    devices, problems = [], []
    for path in config_paths(arguments):
        try:
            devices.append(read_device(path, file_check))
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return devices


def files_elsewhere(key, path):
    """A ``file_check`` for the broker host: the devices' files are on the devices."""
    if not os.path.isabs(path):
        return "must be an absolute path on the device, got %s" % path
    return None


def check_together(devices, operators=None, one_broker=True):
    """Problems between configs that are each fine alone, as ``file:line: key: text``.

    Every device must have its own id (and log in with it, when it names a
    user at all); each ward one agent; and all of them one broker and one
    prefix.  ``operators`` are the operator accounts' names (None: whatever
    the operator configs among ``devices`` log in as).  ``one_broker``
    False: only the duplicates (ids, wards), for configs that are not
    necessarily one broker's.
    """
    problems = []
    ids, wards = {}, {}
    if operators is None:
        operators = sorted({d.broker.username for d in devices
                            if d.kind == OPERATOR and d.broker.username})
    first = next((d for d in devices if d.kind != OPERATOR), None)
    for device in devices:
        broker = device.broker
        if device.kind == OPERATOR:
            if broker.username is not None and broker.username not in operators:
                problems.append("%s: must be an operator account (%s), got %s"
                                % (device.where("broker.username"), ", ".join(operators),
                                   broker.username))
        else:
            if device.id in operators:
                problems.append("%s: %s is an operator account's name; a device "
                                "needs another id" % (device.where(device.kind + ".id"),
                                                      device.id))
            if device.id in ids:
                other = ids[device.id]
                problems.append("%s: %s is also the id of the %s in %s" % (
                    device.where(device.kind + ".id"), device.id, other.kind, other.name))
            ids.setdefault(device.id, device)
            if broker.username is not None and broker.username != device.id:
                problems.append("%s: must be the device id %s (every device logs in "
                                "as its id), got %s" % (device.where("broker.username"),
                                                        device.id, broker.username))
        if "broker.password_file" in device.files and broker.username is None:
            problems.append("%s: needs username too" % device.where("broker.password_file"))
        if device.kind == AGENT:
            ward = device.settings.ward
            if ward in wards:
                other = wards[ward]
                problems.append("%s: ward %s is also counted by agent %s (%s): two "
                                "agents must not count one ward" % (
                                    device.where("agent.ward"), ward, other.id, other.name))
            wards.setdefault(ward, device)
        if one_broker and first is not None and device is not first:
            if broker.prefix != first.broker.prefix:
                problems.append("%s: %s differs from %s in %s: every device of one "
                                "broker uses one prefix" % (
                                    device.where("broker.prefix"), broker.prefix,
                                    first.broker.prefix, first.name))
            if _hosts(broker) != _hosts(first.broker) and device.kind != OPERATOR:
                key = "broker.hosts" if broker.hosts else "broker.host"
                problems.append("%s: %s differs from %s in %s: these configs must "
                                "name one broker" % (device.where(key),
                                                     ", ".join(_hosts(broker)),
                                                     ", ".join(_hosts(first.broker)),
                                                     first.name))
    return problems


def _hosts(broker):
    """The broker's host names (every node of a cluster), as the config gives them."""
    return [host for host, _ in broker.addresses]


def in_file_order(problems, devices):
    """``problems`` sorted by file (in the order the configs were read), then line.

    Problems that name no file (command-line ones) come last, in their order.
    """
    position = {}
    for index, device in enumerate(devices):
        position.setdefault(device.name, index)

    def key(item):
        index, text = item
        name, _, rest = text.partition(":")
        line = rest.partition(":")[0]
        if name in position and line.isdigit():
            return (position[name], int(line), index)
        return (len(devices), 0, index)
    return [text for _, text in sorted(enumerate(problems), key=key)]
