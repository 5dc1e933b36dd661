"""Config loading shared by both programs: YAML in, typed frozen settings out.

A config file is read once, at start.  Every key is declared where it is read
— its type, default and range in one call — and every problem is collected
before anything fails, so a technician fixes a file in one pass.  Each
problem names the file, the line and the key path::

    board.yaml:7: display.rotate: must be one of 0, 90, 180, 270, got 45

Keys nobody reads are errors too: a typo must not be silently ignored.

The ``broker:`` section (docs/contract.md, "Config files") is read here, with its defaults; each
program reads its own sections through :func:`load`.
"""

import logging
import os
import reprlib
import stat
from dataclasses import dataclass, replace

from .errors import ConfigError, ContractError
from .topics import DEFAULT_PREFIX, check_prefix
from .yamlfile import MarkedDict, parse_yaml

_LOG = logging.getLogger(__name__)

REQUIRED = object()

# -- reading sections ------------------------------------------------------

_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict = 2, 4, 4, 3
_SHORT.maxstring, _SHORT.maxother = 60, 60


def _show(value):
    """``value`` for a message: its repr, bounded in length and in the work to make it."""
    text = _SHORT.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Problems:
    """Every problem found in one config file, each as ``file:line: key: text``."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.found = []
        self._lines = []

    def add(self, line, key, message):
        """Record one problem at ``line`` for key path ``key``."""
        self._lines.append(line)
        self.found.append("%s:%d: %s%s" % (self.name, line, key + ": " if key else "",
                                           message))

    def in_file_order(self):
        """The problems sorted by line (stable), as a technician reads the file."""
        return [text for _, text in sorted(zip(self._lines, self.found),
                                           key=lambda pair: pair[0])]


class Section:
    """One mapping of a config file, read key by key.

    Each getter returns the value (or its default) and records a problem
    instead of raising, so that reading goes on and every problem is told.
    :meth:`done` reports the keys that nobody read.
    """

    def __init__(self, problems, mapping, path, line):
        self.problems = problems
        # A section that is absent or broken has been reported already: its
        # required keys are not reported again one by one.
        self.absent = not isinstance(mapping, dict)
        self.mapping = mapping if isinstance(mapping, dict) else MarkedDict()
        self.path = path
        self.line = line
        self._read = set()
        self._empty = set()

    # where things are
    def key_path(self, key):
        """The dotted path of ``key`` in the file (``display.rotate``)."""
        return "%s.%s" % (self.path, key) if self.path else str(key)

    def line_of(self, key):
        """The line of ``key``'s value, or of this section when it is absent."""
        lines = getattr(self.mapping, "lines", None) or {}
        return lines.get(key, self.line)

    def problem(self, key, message):
        """Record a problem about ``key`` (``None``: about this section)."""
        if key is None:
            self.problems.add(self.line, self.path, message)
        else:
            self.problems.add(self.line_of(key), self.key_path(key), message)

    def has(self, key):
        """Whether the file gives ``key`` (and marks it read).

        A key written with no value (``tls:``, ``tls: ~``, ``tls: null``) is a
        problem, never its default: one keystroke must not silently turn
        TLS, a login or an uplink off.
        """
        self._read.add(key)
        self.empty(key)
        return key in self.mapping and self.mapping[key] is not None

    def empty(self, key, message=None):
        """Record (once) a problem if ``key`` is given with no value; return whether it is."""
        if key not in self.mapping or self.mapping[key] is not None:
            return False
        if key not in self._empty:
            self._empty.add(key)
            self.problem(key, message or "is empty: give it a value, or remove the "
                         "line for the default")
        return True

    def raw(self, key, default=REQUIRED):
        """The value as YAML gave it, or ``default``; records a missing one."""
        self._read.add(key)
        if self.empty(key):
            return None if default is REQUIRED else default
        if key not in self.mapping:
            if default is REQUIRED:
                if not self.absent:
                    self.problem(key, "is required")
                return None
            return default
        return self.mapping[key]

    # typed getters
    def text(self, key, default=REQUIRED, check=None, allow_empty=False):
        """A string; ``check(value)`` may raise ValueError with the reason."""
        value = self.raw(key, default)
        if value is None or value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.problem(key, "must be text, got %s" % _show(value))
            return None if default is REQUIRED else default
        value = str(value)
        if not value.strip() and not allow_empty:
            self.problem(key, "must not be empty")
            return None if default is REQUIRED else default
        return self._checked(key, value, check, default)

    def integer(self, key, default=REQUIRED, low=None, high=None):
        """A whole number within ``[low, high]``."""
        value = self.raw(key, default)
        if value is None or value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(key, "must be a whole number, got %s" % _show(value))
            return None if default is REQUIRED else default
        return self._ranged(key, value, low, high, default)

    def number(self, key, default=REQUIRED, low=None, high=None):
        """A number (int or float) within ``[low, high]``."""
        value = self.raw(key, default)
        if value is None or value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or value != value:
            self.problem(key, "must be a number, got %s" % _show(value))
            return None if default is REQUIRED else default
        return self._ranged(key, value, low, high, default)

    def boolean(self, key, default=REQUIRED):
        """``true`` or ``false``."""
        value = self.raw(key, default)
        if value is None or value is default:
            return value
        if not isinstance(value, bool):
            self.problem(key, "must be true or false, got %s" % _show(value))
            return None if default is REQUIRED else default
        return value

    def choice(self, key, choices, default=REQUIRED):
        """One of ``choices``."""
        value = self.raw(key, default)
        if value is None or value is default:
            return value
        if isinstance(value, bool) or value not in choices:
            self.problem(key, "must be one of %s, got %s"
                         % (", ".join(str(c) for c in choices), _show(value)))
            return None if default is REQUIRED else default
        return value

    def section(self, key, required=False):
        """A nested mapping as a Section (empty when absent and not required)."""
        value = self.raw(key, REQUIRED if required else None)
        line = self.line_of(key)
        if value is not None and not isinstance(value, dict):
            self.problem(key, "must be a mapping of keys, got %s" % _show(value))
            value = None
        if isinstance(value, dict):
            line = getattr(value, "line", line) or line
        return Section(self.problems, value, self.key_path(key), line)

    def items(self, key, default=REQUIRED):
        """A list, as ``(value, key_path, line)`` triples; [] when it is not one."""
        value = self.raw(key, default)
        if value is None or value is default:
            return [] if value is None else value
        if not isinstance(value, list):
            self.problem(key, "must be a list, got %s" % _show(value))
            return []
        lines = getattr(value, "lines", None) or {}
        return [(item, "%s[%d]" % (self.key_path(key), i),
                 lines.get(i, self.line_of(key))) for i, item in enumerate(value)]

    def item_section(self, item, path, line):
        """A list item that must itself be a mapping, as a Section."""
        if not isinstance(item, dict):
            self.problems.add(line, path, "must be a mapping of keys, got %s"
                              % _show(item))
            item = None
        return Section(self.problems, item, path, line)

    def done(self):
        """Report every key of this section that was not read: unknown keys."""
        for key in self.mapping:
            if key not in self._read:
                self.problems.add(self.line_of(key), self.key_path(key),
                                  "unknown key (a typo?)")

    # helpers
    def _checked(self, key, value, check, default):
        if check is None:
            return value
        try:
            result = check(value)
        except (ValueError, ContractError) as exc:
            self.problem(key, str(exc))
            return None if default is REQUIRED else default
        return value if result is None else result

    def _ranged(self, key, value, low, high, default):
        if (low is not None and value < low) or (high is not None and value > high):
            if high is None:
                bounds = "at least %s" % low
            elif low is None:
                bounds = "at most %s" % high
            else:
                bounds = "between %s and %s" % (low, high)
            self.problem(key, "must be %s, got %s" % (bounds, _show(value)))
            return None if default is REQUIRED else default
        return value


DEV_ENV = "BEDBOARD_DEV"


def read_secret(section, key):
    """Read the secret in the file that ``key`` names; refuse one others may read.

    A password or token file open to the group or to others (any of mode
    077) is a problem — on a Pi it would be readable by every account there.
    With the environment variable ``BEDBOARD_DEV=1`` (a developer's machine,
    a test) it is only a warning.
    """
    path = section.text(key, default=None)
    if path is None:
        return None
    try:
        mode = os.stat(path).st_mode
        with open(path, encoding="utf-8") as handle:
            secret = handle.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        section.problem(key, "cannot read %s: %s" % (path, getattr(exc, "strerror",
                                                                   None) or exc))
        return None
    if not secret:
        section.problem(key, "%s is empty" % path)
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        said = "%s can be read by others (mode %o): chmod 600 it" % (
            path, stat.S_IMODE(mode))
        if os.environ.get(DEV_ENV) != "1":
            section.problem(key, said + " (%s=1 makes this a warning, on a developer's "
                            "machine)" % DEV_ENV)
            return None
        _LOG.warning("%s: %s: %s", section.problems.name, section.key_path(key), said)
    return secret


def read_file(path):
    """Parse a YAML config file into a Section for its top level.

    Returns ``(section, problems)``; raises ConfigError when the file cannot
    be read or is not YAML at all.
    """
    problems = Problems(path)
    document, duplicates = parse_yaml(path, problems.name)
    for line, key in duplicates:
        problems.add(line, str(key), "given twice")
    if document is None:
        document = MarkedDict()
        document.line = 1
    if not isinstance(document, dict):
        problems.add(1, "", "the file must be a mapping of sections "
                     "(broker:, display:, …), got %s" % type(document).__name__)
        document = MarkedDict()
    return Section(problems, document, "", getattr(document, "line", 1) or 1), problems


def load(path, build):
    """Read ``path`` and return ``build(root_section)``.

    ``build`` reads every section it knows; keys it did not read are reported
    as unknown.  Raises ConfigError listing every problem, if any.
    """
    root, problems = read_file(path)
    settings = build(root)
    root.done()
    if problems.found:
        raise ConfigError(problems.in_file_order())
    return settings


# -- the broker section ----------------------------------------------------

@dataclass(frozen=True)
class TlsSettings:
    """TLS to the broker: CA bundle and optional client certificate."""

    ca: str = None
    cert: str = None
    key: str = None


@dataclass(frozen=True)
class BrokerSettings:
    """Where the broker is and how to log in (docs/contract.md, ``broker:``)."""

    host: str = "localhost"
    port: int = 1883
    prefix: str = DEFAULT_PREFIX
    username: str = None
    password: str = None
    tls: TlsSettings = None
    keepalive: int = 30
    # ``broker.hosts``: every node of a cluster, tried in order; None: host and port
    hosts: tuple = None

    @property
    def addresses(self):
        """Every ``(host, port)`` to try, in order (one when no ``hosts`` are given)."""
        return self.hosts or ((self.host, self.port),)

    def describe(self):
        """``host:port``, or ``host:port, host:port, …`` for a cluster."""
        return ", ".join("%s:%d" % address for address in self.addresses)

    def __repr__(self):  # never print the password
        return ("BrokerSettings(host=%r, port=%r, prefix=%r, username=%r, "
                "password=%s, tls=%r, keepalive=%r, hosts=%r)"
                % (self.host, self.port, self.prefix, self.username,
                   "'***'" if self.password else None, self.tls, self.keepalive,
                   self.hosts))


def _existing_file(path):
    if not os.path.isfile(path):
        raise ValueError("no such file: %s" % path)


def read_broker(root):
    """Read the ``broker:`` section of a config (all keys optional)."""
    sec = root.section("broker")
    sec.empty("tls", "is empty, which would mean no TLS at all: give tls: {} (the "
              "system's CA certificates) or tls: {ca: FILE}, or remove the line for "
              "plain MQTT")
    tls = None
    if sec.has("tls"):
        tls_sec = sec.section("tls")
        tls = TlsSettings(ca=tls_sec.text("ca", None, check=_existing_file),
                          cert=tls_sec.text("cert", None, check=_existing_file),
                          key=tls_sec.text("key", None, check=_existing_file))
        if tls_sec.has("cert") != tls_sec.has("key"):
            tls_sec.problem(None, "cert and key go together: give both or neither")
        tls_sec.done()
    default_port = 8883 if tls else 1883
    hosts = None
    if sec.has("hosts"):
        if sec.has("host") or sec.has("port"):
            sec.problem("hosts", "give either hosts (a cluster) or host and port, not both")
        hosts = []
        for item, path, line in sec.items("hosts"):
            try:
                hosts.append(parse_address(item, default_port))
            except ValueError as exc:
                sec.problems.add(line, path, str(exc))
        if not hosts and not sec.items("hosts"):
            sec.problem("hosts", "must list at least one HOST:PORT")
        hosts = tuple(hosts) or None
    settings = BrokerSettings(
        host=hosts[0][0] if hosts else sec.text("host", "localhost"),
        port=hosts[0][1] if hosts else sec.integer("port", default_port, low=1,
                                                   high=65535),
        hosts=hosts,
        prefix=sec.text("prefix", DEFAULT_PREFIX, check=check_prefix),
        username=sec.text("username", None),
        password=read_secret(sec, "password_file"),
        tls=tls,
        keepalive=sec.integer("keepalive", 30, low=5, high=3600))
    if settings.password and not settings.username:
        sec.problem("password_file", "needs username too")
    sec.done()
    return settings


def parse_address(text, default_port):
    """``HOST:PORT`` (or ``HOST``, or ``[v6]:PORT``) as ``(host, port)``; ValueError if not."""
    if not isinstance(text, str) or not text.strip() or any(c.isspace() for c in text):
        raise ValueError("must be HOST:PORT, got %s" % _show(text))
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if not host:
        raise ValueError("must be HOST:PORT, got %s" % _show(text))
    try:
        port = int(port) if port else default_port
    except ValueError:
        raise ValueError("port must be a number, got %r" % port) from None
    if not 1 <= port <= 65535:
        raise ValueError("port must be between 1 and 65535, got %d" % port)
    return host, port


def override_broker(broker, address):
    """Apply ``--broker HOST:PORT[,HOST:PORT...]`` (or ``HOST``) from the command line."""
    addresses = []
    for part in address.split(","):
        try:
            addresses.append(parse_address(part.strip(), broker.port))
        except ValueError as exc:
            raise ConfigError(["--broker: %s" % exc]) from None
    host, port = addresses[0]
    return replace(broker, host=host, port=port,
                   hosts=tuple(addresses) if len(addresses) > 1 else None)
