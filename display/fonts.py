"""The board's typefaces: found on the machine, loaded once per size, never fatal.

Each script of :mod:`display.languages` has its Noto font (Debian's
``fonts-noto-core``: Noto Sans, Noto Sans Bengali, Devanagari, Oriya,
Gurmukhi, Ol Chiki and Noto Nastaliq Urdu), looked up first by its usual
paths, then through fontconfig (``fc-match`` / ``fc-list :lang=xx``), then
(Latin) pygame's own search.  A missing Latin font falls back to pygame's
built-in one; a language whose font is missing is said in the log and left
off the board rather than drawn as boxes.

Every non-Latin font is shaped by HarfBuzz with its script tag
(``set_script("Beng")``), without which vowel signs land on the wrong side
and conjuncts fall apart ("মেডিসিন" comes out "মডেসিনি"); the direction
of each run is set when it is drawn (:mod:`display.text`).
"""

import logging
import os
from collections import OrderedDict
import shutil
import subprocess

import pygame

from .languages import BY_NAME, SCRIPTS

_LOG = logging.getLogger(__name__)

NOTO = "/usr/share/fonts/truetype/noto"
MAX_OPEN_FONTS = 64         # sizes × faces kept open

LATIN, BENGALI = "latin", "bengali"

_PATHS = {}
for _script in SCRIPTS:
    _PATHS[(_script.name, False)] = _script.regular
    _PATHS[(_script.name, True)] = _script.bold
_PATTERNS = {(LATIN, False): "Noto Sans:style=Regular",
             (LATIN, True): "Noto Sans:style=Bold"}
_FONTCONFIG_LANG = {"bengali": "bn", "devanagari": "hi", "nastaliq": "ur", "olchiki": "sat",
                    "odia": "or", "gurmukhi": "pa"}
_PRIVATE_USE = "\ue000"      # no font has it: what a missing glyph measures like


def _fontconfig(script, bold):
    """A font file for ``script`` from fontconfig, or None."""
    if script == LATIN:
        command = ["fc-match", "-f", "%{file}", _PATTERNS[(script, bold)]]
    else:
        command = ["fc-list", ":lang=%s" % _FONTCONFIG_LANG[script], "file", "style"]
    if not shutil.which(command[0]):
        return None
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        _LOG.debug("%s failed: %s", command[0], exc)
        return None
    if script == LATIN:
        return out.strip() or None
    found = [line.split(":", 1) for line in out.splitlines() if ":" in line]
    found.sort(key=lambda item: ("Bold" in item[1]) != bold)
    return found[0][0].strip() if found else None


def find_face(script, bold):
    """The path of a font file for ``script`` (``latin``, ``bengali``, ...), or None."""
    for path in _PATHS[(script, bold)]:
        if os.path.isfile(path):
            return path
    path = _fontconfig(script, bold)
    if path and os.path.isfile(path):
        return path
    if script == LATIN:
        path = pygame.font.match_font("notosans,dejavusans,freesans,sans", bold=bold)
        if path:
            return path
    return None


class FontBook:
    """Every script's faces (regular and bold), opened at any size."""

    def __init__(self, faces=None):
        if not pygame.font.get_init():
            pygame.font.init()
        self.faces = dict(faces) if faces is not None else {
            key: find_face(*key) for key in _PATHS}
        for (script, bold), path in self.faces.items():
            if path is None and script == LATIN:
                _LOG.warning("no %s%s font found: using pygame's built-in one",
                             script, " bold" if bold else "")
        if not self.has_bengali:
            _LOG.warning("no Bengali font found (install fonts-noto-core): the board "
                         "shows English only")
        # Fitting text tries many sizes once and draws with a few: keep the
        # sizes used lately, not every size ever tried (each open Font holds a
        # file descriptor and ~150 KB).
        self._fonts = OrderedDict()
        self._glyphs = {}

    @property
    def has_bengali(self):
        """Whether Bengali text can be drawn at all."""
        return self.has(BENGALI)

    def has(self, script):
        """Whether there is a font for ``script`` (a name: ``devanagari``)."""
        return self.faces.get((script, False)) is not None \
            or self.faces.get((script, True)) is not None

    def font(self, script, bold, size):
        """A pygame Font for ``script`` at ``size`` pixels of line (cached).

        A script drawn smaller than its line (Nastaliq: see
        :data:`display.languages.NASTALIQ`) is opened at its share of ``size``.
        """
        scale = BY_NAME[script].scale if script in BY_NAME else 1.0
        size = max(4, int(size * scale))
        key = (script, bold, size)
        font = self._fonts.get(key)
        if font is None:
            font = self._open(script, bold, size)
            self._fonts[key] = font
            if len(self._fonts) > MAX_OPEN_FONTS:
                self._fonts.popitem(last=False)
        else:
            self._fonts.move_to_end(key)
        return font

    def _open(self, script, bold, size):
        path = self.faces.get((script, bold)) or self.faces.get((script, not bold))
        if script != LATIN and path is None:
            script = LATIN
            path = self.faces.get((LATIN, bold))
        try:
            font = pygame.font.Font(path, size)
        except (OSError, pygame.error) as exc:
            _LOG.warning("cannot open font %s (%s): using pygame's built-in one",
                         path, exc)
            font = pygame.font.Font(None, size)
        if script != LATIN:
            font.set_script(BY_NAME[script].tag)
        elif bold and path is None:
            font.bold = True
        return font

    def covers(self, script, char):
        """Whether ``script``'s font has a glyph for ``char`` (cached)."""
        key = (script, char)
        known = self._glyphs.get(key)
        if known is None:
            if not self.has(script) and script != LATIN:
                known = False
            else:
                font = self.font(script, True, 40)
                metrics = font.metrics(char + _PRIVATE_USE)
                known = bool(metrics and metrics[0] is not None
                             and metrics[0] != metrics[1])
            self._glyphs[key] = known
        return known

    def bengali_has(self, char):
        """Whether the Bengali font has a glyph for ``char`` (cached)."""
        return self.covers(BENGALI, char)


