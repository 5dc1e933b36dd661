"""Drawing one tile: its labels, the vacant figure, the details and its state.

A tile's state is said in words *and* colour, never colour alone.  A figure
that is not live (NOT REPORTING, LAST KNOWN) is drawn grey, never in a live
colour.  Drawing objects get the surface passed in and never reach for the
screen themselves.
"""

import pygame

from .board import Status

def _rect(box):
    return pygame.Rect(box.x, box.y, box.w, box.h)


def _blit_left(surface, image, box, dx=0, dy=0):
    """Blit ``image`` at the left of ``box``, centred vertically."""
    surface.blit(image, (box.x + dx, box.y + dy + (box.h - image.get_height()) // 2))


def _blit_centre(surface, image, box, dx=0, dy=0):
    surface.blit(image, (box.x + dx + (box.w - image.get_width()) // 2,
                         box.y + dy + (box.h - image.get_height()) // 2))


def _joined(parts):
    """Texts joined with a middle dot (English · Bengali)."""
    return " · ".join(text for _, text in parts)


def line_choices(parts):
    """All languages on one line; failing that, each language alone, in order."""
    choices = [_joined(parts)] if len(parts) > 1 else []
    return tuple(choices + [text for _, text in parts])


def note_for(view, words):
    """``(phrase parts, colour role)`` for a tile's bottom line, or (None, None)."""
    status = view.status
    if status is Status.WAITING:
        return None, None
    if status is Status.NOT_REPORTING:
        if view.offline:
            return words.each("panel-offline"), "muted"
        if view.silent_minutes is not None:
            return words.each("silent", d=lambda lang: words.duration(
                lang, view.silent_minutes)), "muted"
        return words.each("never-heard"), "muted"
    if view.missing:
        return words.each("missing", m=view.missing, n=view.wards), "warning"
    if view.highlighted:
        return words.each("freed"), "highlight"
    if view.changed_minutes is None:
        return words.each("updated-unknown"), "muted"
    if view.changed_minutes == 0:
        return words.each("updated-now"), "muted"
    return words.each("updated", d=lambda lang: words.duration(
        lang, view.changed_minutes)), "muted"


def draw_tile(surface, box, view, geometry, painter, palette, words):
    """Draw ``view`` (a TileView) into ``box`` of ``surface``."""
    look = palette.look(view.status)
    outer = _rect(box)
    surface.fill(palette.background, outer)
    pygame.draw.rect(surface, look.tile, outer, border_radius=geometry.radius)
    if view.highlighted:
        pygame.draw.rect(surface, palette.highlight, outer, width=geometry.border,
                         border_radius=geometry.radius)
    x, y = box.x, box.y

    # the label, one line per language
    lines = view.label.lines(words.languages) if view.label else []
    for (_, text), line in zip(lines, geometry.labels):
        image = painter.fit(text, line.h, line.w, look.label, look.tile, bold=True)
        _blit_left(surface, image, line, x, y)

    # the vacant figure: the biggest thing on the tile
    figure = geometry.figure
    if view.vacant is None:       # no figure at all: a dash, never a number
        ink = geometry.figure_ink
        dash = pygame.Rect(0, 0, max(4, ink // 2), max(2, ink // 10))
        dash.midleft = (x + figure.x + ink // 12, y + figure.y + figure.h // 2)
        surface.fill(look.figure, dash)
    else:
        image = painter.figure(words.figure(view.vacant), geometry.figure_ink,
                               figure.w, look.figure, look.tile)
        _blit_left(surface, image, figure, x, y)

    # of N beds, occupied, blocked
    if view.capacity is not None:
        details = [words.each("of-beds", n=view.capacity),
                   words.each("occupied", n=view.occupied)]
        if view.blocked:
            details.append(words.each("blocked", n=view.blocked))
        for parts, line in zip(details, geometry.details):
            image = painter.fit(line_choices(parts), line.h, line.w, look.detail, look.tile)
            _blit_left(surface, image, line, x, y)

    # the state, in words on its colour
    bar = geometry.state
    pygame.draw.rect(surface, look.bar, _rect(bar.moved(x, y)),
                     border_radius=max(2, geometry.radius // 2))
    parts = words.each(view.status.value)
    image = painter.fit(line_choices(parts), round(bar.h * 0.86), bar.w - bar.h // 2,
                        look.bar_text, look.bar, bold=True)
    _blit_centre(surface, image, bar, x, y)

    # when it changed, or what is missing
    parts, role = note_for(view, words)
    if parts:
        note = geometry.note
        image = painter.fit(line_choices(parts), note.h, note.w,
                            palette.role(role, look), look.tile)
        _blit_left(surface, image, note, x, y)
    return outer
