"""Drawing one tile: its labels, the vacant figure, its detail lines and its state.

A tile's state is said in words *and* colour, never colour alone.  A figure
that is not live (NOT REPORTING, LAST KNOWN) is drawn grey, never in a live
colour.  Drawing objects get the surface passed in and never reach for the
screen themselves.

Every text on a tile is in every configured language, in their order, or
left out whole.  The label (wrapped onto two lines per language when the
board needs it), the figure and the state bar are always there — the
board's plan guarantees they fit (see :class:`BoardTexts`), the bar of a
figure that is not the whole truth too ("PART DATA: 1 of 2 wards missing";
such a tile's bar may be taller and its figure smaller:
:meth:`display.layout.TileGeometry.parts`).  Right of the figure a column
holds, in this order, "of N beds", occupied and blocked, when the figures
last changed ("updated") and the tile's notes (:mod:`display.tilewords`);
when the column has no room for them all, they are left out whole, least
important first: the notes from the last, then "updated", then occupied and
blocked, then "of N beds".  What was drawn and left out is kept for each
tile (:meth:`TileArtist.report`).
"""

import pygame

from .board import Status
from .layout import Box
from .text import ImageCache, TextDrawn, converted, joined, pixel_bytes, place, report
from .tilewords import (MAX_NOTES, bar_for, checked_for, held_for, note_for, notes_for,
                        out_of_service, qualified, updated_for)

__all__ = ["BoardTexts", "TileArtist", "RANKS", "bar_for", "note_for", "notes_for",
           "updated_for"]

# The column's phrases by importance: a higher rank is left out first.  A tile
# may have several notes (every reason that applies): the first is "note", the
# next "note-2", …, each left out before the one above it.
# Beds held for a referral (issue 20) come next after "of N beds": a referral desk
# reading the wall must know the bed it holds is not lost.
RANKS = dict({"of-beds": 1, "held": 1.5, "occupied": 2, "blocked": 2, "updated": 3,
              "checked": 3, "note": 4},
             **{"note-%d" % i: 3 + i for i in range(2, MAX_NOTES + 1)})
# The number a state bar's "m missing" is planned for; the longer "m of n wards
# missing" is said wherever it fits, and a tile missing more than this many wards
# in a bar too narrow for their number says "wards missing".
PLANNED_WARDS = 999
LONG_WARDS = 99             # ... and "m of n wards missing" for a tile of up to 99 wards
GIVE = 0.85         # a detail line shrinks to this share of its size before it takes more lines


def _rect(box):
    return pygame.Rect(box.x, box.y, box.w, box.h)


class BoardTexts:
    """The texts every tile of a board must be able to show: its labels and state words.

    The layout asks it, for a candidate tile, at what size the labels fit
    (on one line per language, or wrapped onto two) and the state words
    (every :class:`~display.board.Status`, its languages side by side or one
    a line); a grid where they cannot fit at a readable size is not used.
    It also says whether the board's title fits beside the clock.
    """

    def __init__(self, painter, words, labels, title=None):
        self.painter = painter
        self.words = words
        self.labels = tuple(labels)
        self.title = title
        texts = {text for label in self.labels if label is not None
                 for _, text in label.lines(words.languages)}
        # each label's width per px of font size, on one line and at its best wrap
        one = {t: painter.width(t, 100, True) / 100.0 for t in texts}
        two = {t: min([one[t]] + [max(painter.width(a, 100, True), painter.width(b, 100, True))
                                  / 100.0 for a, b in _splits(t)]) for t in texts}
        self._widest = {False: sorted(((r, t) for t, r in one.items()), reverse=True),
                        True: sorted(((r, t) for t, r in two.items()), reverse=True)}
        self._states = {False: [words.each(status.value) for status in Status], True: [],
                        "long": []}
        # what the bar of a figure that is not the whole truth must be able to say:
        # "m wards missing" (planned with 4-digit numbers) or "count in doubt"
        for status in Status:
            if status not in (Status.NOT_REPORTING, Status.WAITING, Status.CHECKING):
                state = (lambda lang, status=status: words.say(status.value, lang))
                self._states[True].append(words.each("state-missing-short", s=state,
                                                     m=PLANNED_WARDS))
                self._states[True].append(words.each("state-doubt-short", s=state))
                # a count not checked in time (issue 20): never left out either
                self._states[True].append(words.each("state-unchecked-short", s=state))
                # and, where the plan can afford it, the whole "m of n wards missing"
                self._states["long"].append(words.each("state-missing", s=state,
                                                       m=LONG_WARDS, n=LONG_WARDS))
                self._states["long"].append(words.each("state-doubt", s=state))
        # ... and with wards missing too: "m missing · not checked" (issue 20)
        self._states[True].append(words.each("state-missing-unchecked", m=PLANNED_WARDS))
        self._memo = {}
        self._ratios = {}

    def _least(self, width, size, floor, wrapped):
        """The largest size ≤ ``size`` at which every label fits ``width``, or None."""
        painter, least = self.painter, size
        for ratio, text in self._widest[wrapped]:
            if ratio * least <= width * 0.9:
                break             # this one and every narrower one fit (with margin)
            fitted = painter.largest_size(text, width, least, floor, True)
            if wrapped:
                halves = painter.halves(text, width, least, floor, True)
                if halves is not None and (fitted is None or halves[0] > fitted):
                    fitted = halves[0]
            if fitted is None:
                return None
            least = fitted
        return least

    def title_fit(self, width, floor):
        """Whether each language of the board's title fits ``width`` at ``floor`` px."""
        lines = self.title.lines(self.words.languages) if self.title is not None else ()
        return all(self.painter.largest_size(text, width, floor, floor, True) is not None
                   for _, text in lines)

    def label_fit(self, width, size, floor):
        """``(size, lines per language)`` for the labels in ``width``, or None."""
        key = ("label", width, size, floor)
        if key not in self._memo:
            one = self._least(width, size, floor, False)
            found = None
            if one == size:
                found = (size, 1)
            else:
                two = self._least(width, size, floor, True)
                if two is not None and (one is None or two > one):
                    found = (two, 2)
                elif one is not None:
                    found = (one, 1)
            self._memo[key] = found
        return self._memo[key]

    def state_fit(self, width, size, floor, qualified=False):
        """``(size, lines)`` for every state's words in ``width``, or None.

        ``qualified``: for the bar of a figure that is not the whole truth
        instead (its state words with how many wards are missing, or "in
        doubt": :func:`bar_for`); ``"long"``: the same in whole ("m of n wards
        missing", "count in doubt").
        """
        key = ("state", width, size, floor, qualified)
        if key not in self._memo:
            found, states = None, self._states[qualified]
            sizes = [self._largest(joined(parts), width, size, floor) for parts in states]
            if all(sizes):
                found = (min(sizes), 1)
            else:
                sizes = [self._largest(text, width, size, floor)
                         for parts in states for _, text in parts]
                if all(sizes):
                    found = (min(sizes), len(self.words.languages))
            self._memo[key] = found
        return self._memo[key]

    def _largest(self, text, width, size, floor):
        """painter.largest_size in bold, skipped for a text that is plainly narrow
        enough (its width per px of size, measured once, with a 10 % margin)."""
        ratio = self._ratios.get(text)
        if ratio is None:
            ratio = self._ratios[text] = self.painter.width(text, 100, True) / 100.0
        if ratio * size <= width * 0.9:
            return size
        return self.painter.largest_size(text, width, size, floor, True)


class TileArtist:
    """Draws tiles; keeps each tile's finished parts, so redrawing costs a few blits.

    A tile is a *plate* (its background, rounded corners, highlight border
    and state bar, one per look) and the texts on it, arranged and rendered
    once per distinct TileView.  Both are dropped when the tile geometry or
    the palette changes.
    """

    def __init__(self, painter, words, keep=512, keep_bytes=32 * 2 ** 20):
        self.painter = painter
        self.words = words
        self.keep = keep
        self._geometry = None
        self._palette = None
        self._plates = {}
        # bounded by bytes too: a month of "updated N min ago" makes new views
        self._parts = ImageCache(keep, keep_bytes)

    def _configure(self, geometry, palette):
        if geometry is not self._geometry or palette is not self._palette:
            self._geometry, self._palette = geometry, palette
            self._plates.clear()
            self._parts.clear()

    def draw(self, surface, box, view, geometry, palette):
        """Draw ``view`` (a TileView) into ``box`` of ``surface``; return its Rect."""
        self._configure(geometry, palette)
        look = palette.look(view.status)
        says_doubt = qualified(view)
        plate = self._plate(look, view.highlighted, says_doubt)
        surface.blit(plate, (box.x, box.y))
        images, _, _ = self._finished(view, look)
        for image, (dx, dy) in images:
            if image is None:           # no figure at all: a dash, never a number
                ink = geometry.parts(says_doubt).figure_ink
                surface.fill(look.figure, pygame.Rect(box.x + dx, box.y + dy - ink // 20,
                                                      max(4, ink // 2), max(2, ink // 10)))
            else:
                surface.blit(image, (box.x + dx, box.y + dy))
        return _rect(box)

    def report(self, view, box, geometry, palette):
        """``(texts, left out)`` for ``view`` drawn at ``box``: TextDrawn records in
        board pixels, and the ``(role, languages)`` left out whole, in that order."""
        self._configure(geometry, palette)
        _, drawn, left_out = self._finished(view, palette.look(view.status))
        return tuple(d.moved(box.x, box.y) for d in drawn), left_out

    def _finished(self, view, look):
        found = self._parts.fetch(view)
        if found is not None:
            return found
        found = self._render(view, look)
        # only its images hold pixels (the TextDrawn records are small)
        return self._parts.keep(view, found, weight=sum(
            pixel_bytes(image) for image, _ in found[0] if image is not None))

    def _plate(self, look, highlighted, says_doubt):
        key = (look, highlighted, says_doubt)
        plate = self._plates.get(key)
        if plate is None:
            geometry, palette = self._geometry.parts(says_doubt), self._palette
            plate = pygame.Surface((geometry.w, geometry.h))
            plate.fill(palette.background)
            outer = plate.get_rect()
            pygame.draw.rect(plate, look.tile, outer, border_radius=geometry.radius)
            if highlighted:
                pygame.draw.rect(plate, palette.highlight, outer, width=geometry.border,
                                 border_radius=geometry.radius)
            pygame.draw.rect(plate, look.bar, _rect(geometry.state),
                             border_radius=max(2, geometry.radius // 2))
            plate = converted(plate)
            self._plates[key] = plate
        return plate

    def _render(self, view, look):
        """``(images placed, TextDrawn records, left out)`` for one tile, tile-relative."""
        geometry = self._geometry.parts(qualified(view))
        painter, words = self.painter, self.words
        least = geometry.readable
        images, drawn, left_out = [], [], []

        def put(arrangement, box, colour, background, role, bold=False, align="left",
                valign="middle"):
            rendered = painter.images(arrangement, colour, background, bold)
            placed = place(rendered, box, align, valign)
            images.extend((image, (line.x, line.y)) for (image, _), (_, line)
                          in zip(rendered, placed))
            drawn.extend(report(role, arrangement, placed))

        # the label, one (or two) rows per language
        rows = geometry.label_lines
        for i, part in enumerate(view.label.lines(words.languages) if view.label else ()):
            region = _union(geometry.labels[i * rows:(i + 1) * rows])
            arrangement = painter.arrange([part], region.w, region.h, geometry.label_size,
                                          least, bold=True, wrap=rows > 1)
            if arrangement is None:
                left_out.append(("label", (part[0],)))
            else:
                put(arrangement, region, look.label, look.tile, "label", bold=True,
                    valign="top")

        # the vacant figure: the biggest thing on the tile
        figure = geometry.figure
        if view.vacant is None:
            images.append((None, (figure.x + geometry.figure_ink // 12,
                                  figure.y + figure.h // 2)))
        else:
            digits = words.figure(view.vacant)
            image = painter.figure(digits, geometry.figure_ink, figure.w, look.figure,
                                   look.tile)
            y = figure.y + (figure.h - image.get_height()) // 2
            images.append((image, (figure.x, y)))
            drawn.append(TextDrawn("figure", (), digits, ((digits, _box_of(
                image, figure.x, y)),), painter.figure_size(digits, geometry.figure_ink,
                                                            figure.w)))

        self._column(view, look, put, left_out, geometry)

        # the state, in words on its colour (and what the figure leaves out)
        bar = geometry.state
        for parts in bar_for(view, words):
            arrangement = painter.arrange(parts, bar.w - 2 * geometry.bar_pad,
                                          bar.h - 2 * geometry.bar_pad,
                                          geometry.state_size, least, bold=True)
            if arrangement is not None:
                break
        if arrangement is None:
            left_out.append(("state", words.languages))
        else:
            put(arrangement, bar, look.bar_text, look.bar, "state", bold=True,
                align="centre")
        return images, tuple(drawn), tuple(left_out)

    def _column(self, view, look, put, left_out, geometry):
        """Of N beds, occupied, blocked, updated and the notes, right of the figure."""
        words = self.words
        column, palette = geometry.column, self._palette
        phrases = []
        if view.capacity is not None:
            phrases.append(("of-beds", words.each("of-beds", n=view.capacity), look.detail))
            if view.occupied is not None:
                phrases.append(("occupied", words.each("occupied", n=view.occupied),
                                look.detail))
            if out_of_service(view):
                phrases.append(("blocked", words.each("blocked", n=out_of_service(view)),
                                look.detail))
            parts, _ = held_for(view, words)
            if parts:
                phrases.append(("held", parts, look.detail))
        parts, colour = updated_for(view, words)
        if parts:
            phrases.append(("updated", parts, palette.role(colour, look)))
        parts, colour = checked_for(view, words)
        if parts:
            phrases.append(("checked", parts, palette.role(colour, look)))
        for number, (parts, colour) in enumerate(notes_for(view, words), 1):
            phrases.append(("note" if number == 1 else "note-%d" % number, parts,
                            palette.role(colour, look)))
        # at the column's size, or smaller (never below readable) rather than leave
        # anything out; else give up whole phrases, least important first
        best = None
        for size in range(geometry.detail_size, geometry.readable - 1, -1):
            spacing = max(1, size // 6)
            arranged, gone = self._fit_column(phrases, size, spacing, geometry)
            if best is None or len(gone) < len(best[1]):
                best = (arranged, gone, spacing)
            if not gone:
                break
        arranged, gone, spacing = best
        left_out.extend(gone)
        y = column.y + (column.h - _stack_h(arranged, spacing)) // 2
        for role, arrangement, colour, _ in arranged:
            box = Box(column.x, y, column.w, arrangement.height)
            put(arrangement, box, colour, look.tile, role)
            y += arrangement.height + spacing

    def _fit_column(self, phrases, size, spacing, geometry):
        """``(arranged phrases, left out)`` for the column at font ``size``."""
        painter = self.painter
        column = geometry.column
        arranged = [(role, painter.arrange(parts, column.w, column.h, size, geometry.readable,
                                           wrap=role == "updated" or role.startswith("note"),
                                           give=GIVE),
                     colour, parts) for role, parts, colour in phrases]
        gone = []
        for rank in sorted({RANKS[role] for role, _, _, _ in arranged}, reverse=True):
            unfit = any(arrangement is None for _, arrangement, _, _ in arranged)
            if not unfit and _stack_h(arranged, spacing) <= column.h:
                break
            gone += [(role, tuple(lang for lang, _ in parts))
                     for role, _, _, parts in sorted(arranged, key=lambda item: -RANKS[item[0]])
                     if RANKS[role] >= rank]
            arranged = [item for item in arranged if RANKS[item[0]] < rank]
        return arranged, gone


def _splits(text):
    """Every way of cutting ``text`` in two at a space."""
    words = text.split()
    return [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]


def _union(boxes):
    first, last = boxes[0], boxes[-1]
    return Box(first.x, first.y, first.w, last.bottom - first.y)


def _box_of(image, x, y):
    return Box(x, y, image.get_width(), image.get_height())


def _stack_h(arranged, spacing):
    return sum(a.height for _, a, _, _ in arranged) + spacing * max(0, len(arranged) - 1)
