"""A config file's YAML, read with line numbers and within the bounds of what a config can be.

Every mapping and sequence remembers the line of each of its values, so that
each problem can name its line (:mod:`bedboard.settings` reads the values).
A bedboard config is a few kilobytes and a few levels deep; past these
bounds a file is not one, and reading it must not take the machine's memory
or stack — a YAML "alias bomb" expands nine short lines into hundreds of
millions of values, and 20,000 nested brackets exhaust the composer's
recursion.  So a file is refused, naming its line, when it is more than
MAX_FILE_BYTES, not UTF-8, nested more than MAX_DEPTH levels, or holds more
than MAX_VALUES values once every alias is expanded.  Only ``SafeLoader``'s
tags are known.
"""

import logging

import yaml

from .errors import ConfigError

_LOG = logging.getLogger(__name__)

MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_VALUES = 100_000


# -- YAML with line numbers ------------------------------------------------

class _Marked:
    """Mixin: remembers the line of the container and of each item."""

    line = 0
    lines = None


class MarkedDict(_Marked, dict):
    """A YAML mapping that knows the line of each of its values."""


class MarkedList(_Marked, list):
    """A YAML sequence that knows the line of each of its items."""


class _TooBig(yaml.MarkedYAMLError):
    """A YAML document beyond what a config can be (too deep, or aliases that expand too far)."""


class _MarkedLoader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences carry their line numbers.

    It also bounds the document it composes: at most MAX_DEPTH levels of
    nesting, and at most MAX_VALUES values once every alias is expanded —
    an alias counts as many values as the node it names.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates = []
        self._depth = 0
        self._values = 0
        self._weights = {}      # id(node) → values it holds, aliases expanded

    def compose_node(self, parent, index):
        mark = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            self._count(self._weights.get(id(node), 1), mark,
                        "aliases here expand to more than %d values (a YAML alias bomb?)")
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _TooBig(None, None, "nested more than %d levels deep: not a bedboard "
                          "config" % MAX_DEPTH, mark)
        before = self._values
        self._count(1, mark, "more than %d values")
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._weights[id(node)] = self._values - before
        return node

    def _count(self, values, mark, what):
        self._values += values
        if self._values > MAX_VALUES:
            raise _TooBig(None, None, (what % MAX_VALUES) + ": not a bedboard config",
                          mark)

    def construct_marked_mapping(self, node):
        self.flatten_mapping(node)
        result = MarkedDict()
        result.line, result.lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                key = str(key)
            if key in result:
                self.duplicates.append((key_node.start_mark.line + 1, key))
            result[key] = self.construct_object(value_node, deep=True)
            # an empty value ("tls:") is told at its key's line, not the next one
            mark = key_node if value_node.value == "" else value_node
            result.lines[key] = mark.start_mark.line + 1
        return result

    def construct_marked_sequence(self, node):
        result = MarkedList(self.construct_object(item, deep=True)
                            for item in node.value)
        result.line = node.start_mark.line + 1
        result.lines = {i: item.start_mark.line + 1
                        for i, item in enumerate(node.value)}
        return result


_MarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                              _MarkedLoader.construct_marked_mapping)
_MarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
                              _MarkedLoader.construct_marked_sequence)


def parse_yaml(path, name):
    """The YAML document of the file at ``path`` and its duplicate keys ``[(line, key)]``.

    Raises ConfigError (``name:line: …``) when the file cannot be read, is
    beyond the bounds above, or is not YAML.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(["%s: cannot read: %s" % (path, exc.strerror or exc)]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(["%s:1: the file is more than %d bytes: not a bedboard config"
                           % (name, MAX_FILE_BYTES)])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(["%s:%d: not UTF-8 text (byte %d): save the file as UTF-8"
                           % (name, line, exc.start)]) from None
    loader = None
    try:
        loader = _MarkedLoader(data)    # it reads the start at once: a NUL byte fails here
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigError(["%s:%d: not valid YAML: %s" % (
            name, line, exc.problem or exc.context)]) from None
    except yaml.reader.ReaderError as exc:
        line = text[:max(exc.position, 0)].count("\n") + 1
        raise ConfigError(["%s:%d: not valid YAML: %s" % (name, line, exc.reason)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(["%s:1: not valid YAML: %s" % (name, exc)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return document, loader.duplicates
