"""The board's typefaces: found on the machine, loaded once per size, never fatal.

Latin text uses Noto Sans and Bengali text Noto Sans Bengali (Debian's
``fonts-noto-core``), looked up first by their usual paths, then through
fontconfig (``fc-match`` / ``fc-list :lang=bn``), then pygame's own search.
A missing Latin font falls back to pygame's built-in one; with no Bengali
font at all the board says so in its log and shows English only, rather
than boxes.

Bengali needs HarfBuzz shaping: every Bengali font gets
``set_script("Beng")``, without which vowel signs land on the wrong side and
conjuncts fall apart ("মেডিসিন" comes out "মডেসিনি").
"""

import logging
import os
from collections import OrderedDict
import shutil
import subprocess

import pygame

_LOG = logging.getLogger(__name__)

NOTO = "/usr/share/fonts/truetype/noto"
MAX_OPEN_FONTS = 48         # sizes × faces kept open

LATIN, BENGALI = "latin", "bengali"

_PATHS = {
    (LATIN, False): (NOTO + "/NotoSans-Regular.ttf",
                     "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    (LATIN, True): (NOTO + "/NotoSans-Bold.ttf",
                    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    (BENGALI, False): (NOTO + "/NotoSansBengali-Regular.ttf",
                       NOTO + "/NotoSerifBengali-Regular.ttf",
                       "/usr/share/fonts/truetype/lohit-bengali/Lohit-Bengali.ttf"),
    (BENGALI, True): (NOTO + "/NotoSansBengali-Bold.ttf",
                      NOTO + "/NotoSerifBengali-Bold.ttf",
                      NOTO + "/NotoSansBengali-Regular.ttf",
                      "/usr/share/fonts/truetype/lohit-bengali/Lohit-Bengali.ttf"),
}
_PATTERNS = {(LATIN, False): "Noto Sans:style=Regular",
             (LATIN, True): "Noto Sans:style=Bold"}
_PRIVATE_USE = "\ue000"      # no font has it: what a missing glyph measures like


def _fontconfig(script, bold):
    """A font file for ``script`` from fontconfig, or None."""
    if script == BENGALI:
        command = ["fc-list", ":lang=bn", "file", "style"]
    else:
        command = ["fc-match", "-f", "%{file}", _PATTERNS[(script, bold)]]
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
    """The path of a font file for ``script`` (``latin``/``bengali``), or None."""
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
    """The four faces (Latin/Bengali × regular/bold), opened at any size."""

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
        self._bengali_glyphs = {}

    @property
    def has_bengali(self):
        """Whether Bengali text can be drawn at all."""
        return self.faces.get((BENGALI, False)) is not None \
            or self.faces.get((BENGALI, True)) is not None

    def font(self, script, bold, size):
        """A pygame Font for ``script`` at ``size`` pixels (cached)."""
        size = max(4, int(size))
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
        if script == BENGALI and path is None:
            script = LATIN
            path = self.faces.get((LATIN, bold))
        try:
            font = pygame.font.Font(path, size)
        except (OSError, pygame.error) as exc:
            _LOG.warning("cannot open font %s (%s): using pygame's built-in one",
                         path, exc)
            font = pygame.font.Font(None, size)
        if script == BENGALI:
            font.set_script("Beng")
        elif bold and path is None:
            font.bold = True
        return font

    def bengali_has(self, char):
        """Whether the Bengali font has a glyph for ``char`` (cached)."""
        known = self._bengali_glyphs.get(char)
        if known is None:
            font = self.font(BENGALI, True, 40)
            metrics = font.metrics(char + _PRIVATE_USE)
            known = bool(metrics and metrics[0] is not None
                         and metrics[0] != metrics[1])
            self._bengali_glyphs[char] = known
        return known
