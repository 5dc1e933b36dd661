"""The board's phrase tables: one YAML file per language, beside this module.

Why YAML and not gettext ``.po``: the board's phrases are keyed by what
they are (``few-left``), not by their English text — a ``.po`` msgid is the
English, so correcting an English word would orphan every translation; the
weekday and month names are lists; and every other file a hospital edits
(the configs, the inventory) is YAML, read with the same library, so a
translation is checked by the same eyes and tools.  Each entry says where
on the board it shows (``where``) and whether a fluent reader has checked
it (``checked``); :func:`unchecked` lists the ones no one has.
"""

import functools
import os

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
# libyaml's loader where PyYAML has it (PyPI's wheels and Debian's python3-yaml
# do): the pure-Python one spent a third of a board's start-up on these tables
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def path(language):
    """The table file of ``language``."""
    return os.path.join(HERE, "%s.yaml" % language)


@functools.lru_cache(maxsize=None)
def entries(language):
    """``{key: {text, where, checked}}`` of ``language``'s table ({} when it has none)."""
    try:
        with open(path(language), encoding="utf-8") as stream:
            loaded = yaml.load(stream, Loader=_LOADER) or {}  # noqa: S506 - a safe loader
    except FileNotFoundError:
        return {}
    return dict(loaded.get("phrases") or {})


@functools.lru_cache(maxsize=None)
def table(language):
    """``{key: text}``: ``language``'s phrases (a list for weekdays and months)."""
    return {key: entry["text"] for key, entry in entries(language).items()}


def unchecked(language):
    """The keys of ``language``'s phrases no fluent reader has checked."""
    return sorted(key for key, entry in entries(language).items() if not entry.get("checked"))
