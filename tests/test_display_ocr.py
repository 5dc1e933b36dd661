"""The board's scripts are readable, not only drawn: OCR reads them back.

The sample NRS board (display/samples.py) is drawn in Bengali, a second
language and English, and each line said in that language alone — the
title, the date, the ten department labels — is cut out of the picture and
read by Debian's tesseract with the language's model (``tesseract-ocr-hin``,
``-urd``, ``-ben``, ``-nep``, ``-ori``, ``-pan``: ``scripts/system-deps``
installs them).  A line whose vowel signs sat on the wrong side, whose
conjuncts fell apart or whose right-to-left letters ran backwards reads as
something else.  Santali has no tesseract model in Debian (nor an Ol Chiki
one): its lines are checked by the tests of display.text, not here.

How close a reading must be: the share of the line's letters tesseract
gets right (difflib's ratio, spaces and joiners aside), for most of the
lines.  Nastaliq (Urdu) is read least well by tesseract's ``urd`` model,
which is trained mostly on Naskh: its bar is lower.
"""

import difflib
import os
import shutil
import statistics
import subprocess

import pygame
import pytest

from display import languages, samples
from display.fonts import FontBook
from display.text import TextPainter

# language: (the board's languages, the least median ratio, the least share read well);
# where three do not fit at once (Odia's and Punjabi's longer footer), the language's turn
BOARDS = {
    "bn": (("bn", "hi", "en"), 0.85, 0.6),
    "hi": (("bn", "hi", "en"), 0.85, 0.6),
    "ur": (("bn", "ur", "en"), 0.6, 0.2),
    "ne": (("bn", "ne", "en"), 0.8, 0.5),
    "or": (("bn", "or", "en"), 0.6, 0.3),
    "pa": (("bn", "pa", "en"), 0.6, 0.3),
}
UPSCALE = 3         # tesseract reads lines best with letters 30-40 px high


def _tesseract_models():
    if shutil.which("tesseract") is None:
        pytest.fail("tesseract is not installed: run scripts/system-deps (it installs "
                    "tesseract-ocr and the hin, urd, ben, nep, ori and pan models)")
    listed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True,
                            check=True, timeout=60)
    return set((listed.stdout + listed.stderr).split())


@pytest.fixture(scope="module")
def painter():
    pygame.font.init()
    return TextPainter(FontBook())


def _letters(text):
    return "".join(c for c in text if not c.isspace() and c not in "\u200c\u200d\u200e\u200f")


def test_every_language_but_santali_has_a_debian_tesseract_model():
    models = _tesseract_models()
    for code in languages.CODES:
        found = languages.language(code).tesseract
        if code == "sat":
            assert found is None       # Debian has no Santali (Ol Chiki) model at all
        else:
            assert found in models, (code, found, "run scripts/system-deps")


@pytest.mark.parametrize("code", sorted(BOARDS))
def test_ocr_reads_the_board_s_lines_in_its_language(painter, code, tmp_path):
    model = languages.language(code).tesseract
    assert model in _tesseract_models(), "run scripts/system-deps"
    shown, median_least, share_least = BOARDS[code]
    surface, renderer = samples.draw(shown, painter=painter)
    turns = renderer.turns.turns(10, tuple(tile.label for tile in samples.tiles(10)))
    if code not in renderer.words.languages:        # its turn (where three do not fit)
        turn = next(i for i, group in enumerate(turns) if code in group)
        renderer.draw(surface, samples.view(10), turn * renderer.turns.turn_seconds,
                      samples.LOCAL)
    assert code in renderer.words.languages and len(renderer.words.languages) >= 2
    lines = [(text, box) for report in renderer.report() for drawn in report.texts
             if drawn.languages == (code,) and drawn.role in ("title", "date", "label")
             for text, box in drawn.lines]
    assert len(lines) >= 11, lines      # the title, ten labels (and the date, on its own)
    crops = [(text, surface.subsurface(pygame.Rect(box.x, box.y, box.w, box.h)).copy())
             for text, box in lines]
    ratios = _read(crops, model, tmp_path)
    print("\n%s: %s" % (code, "; ".join("%s→%s %.2f" % (t, r, q) for q, t, r in ratios)))
    assert statistics.median(q for q, _, _ in ratios) >= median_least, ratios
    assert sum(q >= 0.9 for q, _, _ in ratios) >= share_least * len(ratios), ratios
    if code == "ur":
        # the control: the same lines shaped as naive code would, left to right,
        # read far worse — what is measured is the drawing, not tesseract's guessing
        font = painter.fonts.font("nastaliq", True, lines[1][1].h)
        font.set_direction(pygame.DIRECTION_LTR)
        naive = _read([(text, _opaque(font.render(text, True, (242, 244, 247), (28, 40, 34))))
                       for text, _ in lines], model, tmp_path)
        assert statistics.median(q for q, _, _ in naive) + 0.2 <= statistics.median(
            q for q, _, _ in ratios), (naive, ratios)


def _opaque(image):
    surface = pygame.Surface(image.get_size())
    surface.blit(image, (0, 0))
    return surface


def _read(crops, model, folder):
    """``[(ratio, text, what tesseract read)]`` for each ``(text, image)``."""
    readings = []
    for number, (text, image) in enumerate(crops):
        w, h = image.get_size()
        path = os.path.join(folder, "line-%d.png" % number)
        pygame.image.save(pygame.transform.smoothscale(image, (w * UPSCALE, h * UPSCALE)),
                          path)
        readings.append((text, subprocess.Popen(  # pylint: disable=consider-using-with
            ["tesseract", path, "stdout", "-l", model, "--psm", "7"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)))
    ratios = []
    for text, process in readings:
        read, _ = process.communicate(timeout=60)
        ratio = difflib.SequenceMatcher(None, _letters(text), _letters(read)).ratio()
        ratios.append((round(ratio, 2), text, read.strip()))
    return ratios
