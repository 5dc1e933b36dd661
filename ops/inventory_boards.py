"""The lobby boards of an inventory: each board's hospital, screen and tiles.

Read from the inventory's ``boards:`` list (:mod:`ops.inventory`), each
tile checked against the hospitals and departments the inventory names, so
that a board never shows a department nobody counts.  A tile is a
department's id (``medicine``), or ``{department, wards, label, hospital}``.
Its label, when the inventory gives none, is the department's — with the
ward's in brackets for a tile of one ward that has a label ("Medicine
(Male)"), and the hospital's ``short`` name first on a board whose tiles
come from more than one hospital ("CMC · Medicine").  A board without
``tiles:`` gets one per department of its hospital, in the inventory's order.
"""

import logging
from dataclasses import dataclass

from agent.config import _id_check
from bedboard.errors import ContractError
from bedboard.topics import check_device_id, check_slug
from display.config import Label, _read_label, _read_languages, _read_size
from display.words import LANGUAGES

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tile:
    """One tile of a board: a department's wards (all, or some) and its label."""

    hospital: str
    department: str
    wards: tuple            # None: every ward of the department
    label: Label


@dataclass(frozen=True)
class Board:
    """A lobby display."""

    id: str
    hospital: str
    title: Label
    size: tuple             # None: the screen's own
    rotate: int
    tiles: tuple
    message: Label
    languages: tuple        # None: the board's default
    line: int
    path: str
    check_within: int = None  # added (issue 20): seconds, board.check_within; None: its default


def _joined(first, second, pattern):
    """A Label whose text in each language is ``pattern % (first, second)``."""
    texts = {}
    for language in LANGUAGES:
        one, two = first.get(language), second.get(language)
        if one and two:
            texts[language] = pattern % (one, two)
    return Label(**texts) if texts else first


def _label(tile, hospitals, several):
    """The label a tile gets when the inventory gives it none."""
    hospital = hospitals[tile.hospital]
    department = hospital.department(tile.department)
    label = department.label
    if tile.wards and len(tile.wards) == 1:
        ward = next(w for w in department.wards if w.id == tile.wards[0])
        if ward.label is not None:
            label = _joined(label, ward.label, "%s (%s)")
    if several and hospital.short is not None:
        label = _joined(hospital.short, label, "%s · %s")
    return label


def _read_tile(sec, item, path, line, hospital, hospitals):
    """One tile: ``(Tile without its default label, its problems' place)`` or None."""
    if isinstance(item, str):
        try:
            check_slug(item, "department")
        except ContractError as exc:
            sec.problems.add(line, path, str(exc))
            return None
        tile = Tile(hospital, item, None, None)
    else:
        given = sec.item_section(item, path, line)
        department = given.text("department", check=_id_check(check_slug, "department"))
        wards = []
        for value, ward_path, ward_line in given.items("wards", []):
            if not isinstance(value, str) or value in wards:
                given.problems.add(ward_line, ward_path, "must be a ward's id, once, got %r"
                                   % (value,))
            else:
                wards.append(value)
        if given.has("wards") and not wards and not given.items("wards", []):
            given.problem("wards", "must name at least one ward (leave it out for all)")
        tile = Tile(given.text("hospital", hospital,
                               check=_id_check(check_slug, "hospital")),
                    department, tuple(wards) or None, _read_label(given, "label"))
        given.done()
    if None in (tile.hospital, tile.department):
        return None
    known = hospitals.get(tile.hospital)
    if known is None:
        sec.problems.add(line, path, "no hospital %s in this inventory (it has: %s)" % (
            tile.hospital, ", ".join(sorted(hospitals))))
        return None
    department = known.department(tile.department)
    if department is None:
        sec.problems.add(line, path, "no department %s in hospital %s (it has: %s)" % (
            tile.department, tile.hospital,
            ", ".join(d.id for d in known.departments)))
        return None
    missing = [w for w in tile.wards or () if w not in {x.id for x in department.wards}]
    if missing:
        sec.problems.add(line, path, "no ward %s in %s/%s (it has: %s)" % (
            ", ".join(missing), tile.hospital, tile.department,
            ", ".join(w.id for w in department.wards) or "none"))
        return None
    return tile


def _read_tiles(sec, hospital, hospitals):
    if not sec.has("tiles"):
        known = hospitals.get(hospital)
        return tuple(Tile(hospital, d.id, None, d.label)
                     for d in (known.departments if known else ()))
    items = sec.items("tiles")
    if not items:
        sec.problem("tiles", "must list at least one tile (leave it out for one tile "
                    "per department)")
    tiles = [tile for item, path, line in items
             for tile in [_read_tile(sec, item, path, line, hospital, hospitals)] if tile]
    several = len({t.hospital for t in tiles} | {hospital}) > 1
    return tuple(tile if tile.label is not None else
                 Tile(tile.hospital, tile.department, tile.wards,
                      _label(tile, hospitals, several)) for tile in tiles)


def _check_languages(sec, languages, title, message, tiles):
    """A board that lists its languages needs every label in each (its device refuses
    a config without: display.config), told here at the board's ``languages``."""
    labels = [("its title", title), ("its message", message)] + [
        ("the %s tile's label" % tile.department, tile.label) for tile in tiles
        if isinstance(tile, Tile)]
    for what, label in labels:
        for language in label.missing(languages) if label is not None else ():
            sec.problem("languages", "%s has no %s text: give it one" % (what, language))


def read_boards(root, hospitals):
    """The inventory's ``boards:``, checked against ``hospitals``: a list of Board."""
    by_id = {h.id: h for h in hospitals if h.id}
    boards = []
    for item, path, line in root.items("boards", []):
        sec = root.item_section(item, path, line)
        ident = sec.text("id", check=_id_check(check_device_id, "id"))
        if sec.has("hospital") or len(hospitals) != 1:
            hospital = sec.text("hospital", check=_id_check(check_slug, "hospital"))
            if hospital is not None and hospital not in by_id:
                sec.problem("hospital", "no hospital %s in this inventory (it has: %s)" % (
                    hospital, ", ".join(sorted(by_id))))
                hospital = None
        else:
            hospital = hospitals[0].id      # None when its id is wrong: told already
        title = _read_label(sec, "title")
        if title is None and hospital in by_id:
            title = by_id[hospital].name
        screen = sec.section("screen")
        size = _read_size(screen)
        rotate = screen.choice("rotate", (0, 90, 180, 270), 0)
        screen.done()
        message = _read_label(sec, "message")
        languages = _read_languages(sec) if "languages" in sec.mapping else None
        check_within = sec.number("check_within", None, low=60, high=604800)
        tiles = _read_tiles(sec, hospital, by_id) if hospital else sec.raw("tiles", ())
        if languages:
            _check_languages(sec, languages, title, message, tiles)
        sec.done()
        if ident and hospital:
            boards.append(Board(id=ident, hospital=hospital, title=title, size=size,
                                rotate=rotate, tiles=tiles, message=message,
                                languages=languages, line=line, path=path,
                                check_within=check_within))
    return boards
