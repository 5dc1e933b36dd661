"""Right-to-left lines with numbers and Latin names in them: the runs, as drawn.

HarfBuzz shapes one run in one direction; it does not split a line into
its directions.  Told to draw "بستر 12 ICU" right to left as a whole, it
writes the digits backwards ("21") and the Latin backwards too.  So a line
is first split into runs of one direction by the Unicode Bidirectional
Algorithm (UAX #9) — here its part for one line of plain text with no
explicit embeddings: rules W1–W7, N1–N2, I1–I2 and L2 — and each run is
then shaped in its own direction, the runs placed in visual order.

Pure Python (:mod:`unicodedata` gives each character's bidi class); no
pygame here.
"""

import re
import unicodedata

_STRONG_R = ("R", "AL")
# Hebrew, Arabic, Syriac, Thaana, NKo, ... and their presentation forms: a line with
# none of these and a left-to-right base is one run (most of a board's lines)
_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
_NEUTRAL = ("B", "S", "WS", "ON", "BN")


def classes(text):
    """Each character's bidirectional class (``L``, ``R``, ``AL``, ``EN``, ...)."""
    return [unicodedata.bidirectional(char) or "L" for char in text]


def base_rtl(text):
    """Whether ``text`` is right to left by its first strong character (UAX #9 P2–P3)."""
    for kind in classes(text):
        if kind in _STRONG_R:
            return True
        if kind == "L":
            return False
    return False


def _weak(types, base):
    """Rules W1–W7 on ``types`` (a list, changed in place); ``base`` is ``L`` or ``R``."""
    previous = base
    for i, kind in enumerate(types):                       # W1: marks take the previous
        if kind == "NSM":
            types[i] = previous
        previous = types[i]
    strong = base
    for i, kind in enumerate(types):                       # W2: numbers after Arabic
        if kind in ("L", "R", "AL"):
            strong = kind
        elif kind == "EN" and strong == "AL":
            types[i] = "AN"
    for i, kind in enumerate(types):                       # W3
        if kind == "AL":
            types[i] = "R"
    for i in range(1, len(types) - 1):                     # W4: 1,000  2/3
        before, kind, after = types[i - 1], types[i], types[i + 1]
        if kind == "ES" and before == after == "EN":
            types[i] = "EN"
        elif kind == "CS" and before == after and before in ("EN", "AN"):
            types[i] = before
    i = 0                                                  # W5: %, currency by numbers
    while i < len(types):
        if types[i] == "ET":
            end = i
            while end < len(types) and types[end] == "ET":
                end += 1
            if (i > 0 and types[i - 1] == "EN") or (end < len(types) and types[end] == "EN"):
                types[i:end] = ["EN"] * (end - i)
            i = end
        else:
            i += 1
    for i, kind in enumerate(types):                       # W6
        if kind in ("ES", "ET", "CS"):
            types[i] = "ON"
    strong = base
    for i, kind in enumerate(types):                       # W7: numbers after Latin
        if kind in ("L", "R"):
            strong = kind
        elif kind == "EN" and strong == "L":
            types[i] = "L"


def _neutral(types, base):
    """Rules N1–N2: a run of neutrals between two of one direction takes it, else ``base``."""
    def side(kind):
        return "R" if kind in ("R", "EN", "AN") else kind
    i = 0
    while i < len(types):
        if types[i] not in _NEUTRAL:
            i += 1
            continue
        end = i
        while end < len(types) and types[end] in _NEUTRAL:
            end += 1
        before = side(types[i - 1]) if i > 0 else base
        after = side(types[end]) if end < len(types) else base
        types[i:end] = [before if before == after else base] * (end - i)
        i = end


def levels(text, rtl):
    """The embedding level of each character of ``text`` in a line of base
    direction ``rtl`` (0, 1 or 2: even levels run left to right)."""
    base = 1 if rtl else 0
    types = classes(text)
    _weak(types, "R" if rtl else "L")
    _neutral(types, "R" if rtl else "L")
    found = []
    for kind in types:                                     # I1–I2
        if base == 0:
            found.append(1 if kind == "R" else 2 if kind in ("AN", "EN") else 0)
        else:
            found.append(2 if kind in ("L", "EN", "AN") else 1)
    return found


def runs(text, rtl=None):
    """``[(text, rtl)]``: ``text`` cut into runs of one direction, in the order
    they are drawn from left to right (each run's own characters in logical
    order: it is shaped in its direction).  ``rtl`` None: by the text's first
    strong character."""
    if not text:
        return []
    if not rtl and not _RIGHT_TO_LEFT.search(text):
        return [(text, False)]
    if rtl is None:
        rtl = base_rtl(text)
    found = []
    for char, level in zip(text, levels(text, rtl)):
        if found and found[-1][1] == level:
            found[-1][0].append(char)
        else:
            found.append(([char], level))
    pieces = [("".join(chars), level) for chars, level in found]
    highest = max(level for _, level in pieces)
    lowest_odd = min((level for _, level in pieces if level % 2), default=highest + 1)
    for level in range(highest, lowest_odd - 1, -1):       # L2
        i = 0
        while i < len(pieces):
            if pieces[i][1] >= level:
                end = i
                while end < len(pieces) and pieces[end][1] >= level:
                    end += 1
                pieces[i:end] = pieces[i:end][::-1]
                i = end
            else:
                i += 1
    return [(piece, level % 2 == 1) for piece, level in pieces]


def visual(text, rtl=None):
    """``text`` as it reads from left to right on the screen (each right-to-left
    run's characters reversed): for tests and logs, not for shaping."""
    return "".join(piece[::-1] if backwards else piece for piece, backwards in runs(text, rtl))
