"""Drawing one tile: its labels, the vacant figure, the details and its state.

A tile's state is said in words *and* colour, never colour alone.  A figure
that is not live (NOT REPORTING, LAST KNOWN) is drawn grey, never in a live
colour.  Drawing objects get the surface passed in and never reach for the
screen themselves.
"""

from collections import OrderedDict

import pygame

from .board import Reason, Status
from .text import converted


def _rect(box):
    return pygame.Rect(box.x, box.y, box.w, box.h)


def _joined(parts):
    """Texts joined with a middle dot (English · Bengali)."""
    return " · ".join(text for _, text in parts)


def line_choices(parts):
    """All languages on one line; failing that, each language alone, in order."""
    choices = [_joined(parts)] if len(parts) > 1 else []
    return tuple(choices + [text for _, text in parts])


def note_for(view, words):
    """``(phrase parts, colour role)`` for a tile's note line, or (None, None).

    The note says what is wrong with a tile's figure, or what just happened
    to it: the weightiest one thing, in this order.  When its figures last
    changed is a separate line (:func:`updated_for`).
    """
    status = view.status
    if status is Status.WAITING:
        return None, None
    if view.conflict:
        return words.each("two-panels"), "warning"
    if status is Status.NOT_REPORTING:
        reason = view.reason
        if reason is Reason.CONNECTION:
            return words.each("no-connection"), "muted"
        if reason is Reason.RESET:
            return words.each("panel-reset"), "warning"
        if reason is Reason.OFFLINE or view.offline:
            return words.each("panel-offline"), "muted"
        if view.silent_minutes is not None:
            return words.each("silent", d=lambda lang: words.duration(
                lang, view.silent_minutes)), "muted"
        return words.each("never-heard"), "muted"
    if view.missing:
        return words.each("missing", m=view.missing, n=view.wards), "warning"
    if view.reset:
        return words.each("panel-reset"), "warning"
    if view.mismatched:
        return words.each("mismatch", n=view.mismatched), "warning"
    if view.unconfirmed:
        return words.each("unconfirmed"), "warning"
    if view.highlighted:
        return words.each("freed"), "highlight"
    return None, None


def updated_for(view, words):
    """``(phrase parts, colour role)`` for when a shown figure last changed, or (None, None)."""
    if view.vacant is None or view.status in (Status.WAITING, Status.NOT_REPORTING):
        return None, None
    if view.changed_minutes is None:
        return words.each("updated-unknown"), "muted"
    if view.changed_minutes == 0:
        return words.each("updated-now"), "muted"
    return words.each("updated", d=lambda lang: words.duration(
        lang, view.changed_minutes)), "muted"


class TileArtist:
    """Draws tiles; keeps each tile's finished parts, so redrawing costs a few blits.

    A tile is a *plate* (its background, rounded corners, highlight border
    and state bar, one per look) and the texts on it, rendered once per
    distinct TileView.  Both are dropped when the tile geometry or the
    palette changes.
    """

    def __init__(self, painter, words, keep=512):
        self.painter = painter
        self.words = words
        self.keep = keep
        self._geometry = None
        self._palette = None
        self._plates = {}
        self._parts = OrderedDict()

    def _configure(self, geometry, palette):
        if geometry is not self._geometry or palette is not self._palette:
            self._geometry, self._palette = geometry, palette
            self._plates.clear()
            self._parts.clear()

    def draw(self, surface, box, view, geometry, palette):
        """Draw ``view`` (a TileView) into ``box`` of ``surface``; return its Rect."""
        self._configure(geometry, palette)
        look = palette.look(view.status)
        plate = self._plate(look, view.highlighted)
        surface.blit(plate, (box.x, box.y))
        parts = self._parts.get(view)
        if parts is not None:
            self._parts.move_to_end(view)
        else:
            parts = self._render(view, look)
            self._parts[view] = parts
            if len(self._parts) > self.keep:
                self._parts.popitem(last=False)
        for image, (dx, dy) in parts:
            if image is None:           # no figure at all: a dash, never a number
                ink = geometry.figure_ink
                surface.fill(look.figure, pygame.Rect(box.x + dx, box.y + dy - ink // 20,
                                                      max(4, ink // 2), max(2, ink // 10)))
            else:
                surface.blit(image, (box.x + dx, box.y + dy))
        return _rect(box)

    def _plate(self, look, highlighted):
        key = (look, highlighted)
        plate = self._plates.get(key)
        if plate is None:
            geometry, palette = self._geometry, self._palette
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
        """``[(image, (dx, dy))]``: every text on the tile, placed."""
        geometry, painter, words = self._geometry, self.painter, self.words
        parts = []

        def left(image, box):
            parts.append((image, (box.x, box.y + (box.h - image.get_height()) // 2)))

        # the label, one line per language
        lines = view.label.lines(words.languages) if view.label else []
        for (_, text), line in zip(lines, geometry.labels):
            left(painter.fit(text, line.h, line.w, look.label, look.tile, bold=True), line)

        # the vacant figure: the biggest thing on the tile
        figure = geometry.figure
        if view.vacant is None:
            parts.append((None, (figure.x + geometry.figure_ink // 12,
                                 figure.y + figure.h // 2)))
        else:
            left(painter.figure(words.figure(view.vacant), geometry.figure_ink, figure.w,
                                look.figure, look.tile), figure)

        # of N beds, occupied, blocked
        if view.capacity is not None:
            details = [words.each("of-beds", n=view.capacity),
                       words.each("occupied", n=view.occupied)]
            if view.blocked:
                details.append(words.each("blocked", n=view.blocked))
            line = geometry.details[0]       # all three lines at one size
            images = painter.fit_all([line_choices(texts) for texts in details], line.h,
                                     line.w, look.detail, look.tile)
            for image, line in zip(images, geometry.details):
                left(image, line)

        # the state, in words on its colour
        bar = geometry.state
        image = painter.fit(line_choices(words.each(view.status.value)), round(bar.h * 0.86),
                            bar.w - bar.h // 2, look.bar_text, look.bar, bold=True)
        parts.append((image, (bar.x + (bar.w - image.get_width()) // 2,
                              bar.y + (bar.h - image.get_height()) // 2)))

        # when it changed, or what is missing
        texts, role = note_for(view, words)
        if not texts:
            texts, role = updated_for(view, words)
        if texts:
            note = geometry.note
            left(painter.fit(line_choices(texts), note.h, note.w,
                             self._palette.role(role, look), look.tile), note)
        return parts
