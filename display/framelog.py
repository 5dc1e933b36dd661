"""The frame log: what each frame on the screen said, one JSON line a frame.

``bed-display --frame-log FILE`` appends, for each frame the loop shows that
differs in what it says from the last one logged, one line::

    {"t": 8123.456789, "frame": 42, "connected": true, "total": 17,
     "tiles": [{"tile": "nrs/medicine", "status": "available", "live": true,
                "vacant": 5, "occupied": 30, "blocked": 1, "capacity": 36,
                "missing": 0, "reason": null, "flags": []}, ...]}

* ``t`` is ``time.monotonic()`` (CLOCK_MONOTONIC, the same clock in every
  process of the machine) taken just after the frame was handed to the
  screen, so a test or a benchmark can compare it with the moment it pressed
  a button in another process.
* ``frame`` counts the frames the loop showed since start, logged or not: a
  frame that changed only the clock or the banner's minutes writes nothing.
* each tile is the :class:`~display.board.TileView` the renderer was given:
  its shown figures (``null`` when it shows none), its state word
  (``status``), whether the figure is ``live``, how many of its wards are
  ``missing`` and why (``reason``), and its other ``flags``
  (``not-reporting``, ``last-known``, ``broker-lost``, ``offline``,
  ``reset``, ``conflict``, ``unconfirmed``, ``highlighted``, ``partial``).
  ``tile`` names the wards it sums: ``hospital/department``, with
  ``:ward,ward`` when the config lists them.
* ``page`` (only when the tiles are split over pages) is the page on screen.
* *(added, issue 15)* what the renderer DREW, when the loop hands its report
  (:meth:`display.render.Renderer.report`): each tile on screen has
  ``drawn``, its texts in drawing order as ``[role, phrase]`` (``label``,
  ``figure``, ``of-beds``, ``occupied``, ``blocked``, ``updated``, ``note``,
  ``note-2``…, ``state`` — the state bar, which says ``PART DATA: 1 of 2
  wards missing`` or ``count in doubt`` when the figure is not the whole
  truth), and ``left_out``, the roles left out whole; a tile on another page
  has neither.  ``footer`` is the total as drawn and ``banner`` the banner
  when the line was written (absent without one; its minutes alone are no
  news).  So a test judges what the wall said, not only what
  the model meant.

It costs one comparison per tile for a frame that changes nothing, and for a
changed frame a JSON fragment per *changed* tile (the others are reused) and
one ``write()``; ``make bench`` measures it.  The file is opened for
appending and each line is written whole with one system call, so a reader
following the file never sees half a line; it is not fsync'd (the log is for
tests and audits, not for the hospital).
"""

import json
import logging
import os
import time

from .board import Status

_LOG = logging.getLogger(__name__)

_FLAGS = (("offline", "offline"), ("reset", "reset"), ("conflict", "conflict"),
          ("unconfirmed", "unconfirmed"), ("highlighted", "highlighted"))


def tile_name(spec):
    """The frame log's name of the tile ``spec``: ``hospital/department[:wards]``."""
    name = "%s/%s" % (spec.hospital, spec.department)
    if spec.wards is not None:
        name += ":" + ",".join(spec.wards)
    return name


def _said(report):
    """``[[role, phrase], ...]`` of a PartReport, in drawing order."""
    return [[drawn.role, drawn.phrase] for drawn in report.texts]


def tile_record(name, tile, connected, drawn=None):
    """One tile of a frame as a JSON-ready dict (``drawn``: its PartReport, if on screen)."""
    flags = []
    if tile.status is Status.NOT_REPORTING:
        flags.append("not-reporting")
    elif tile.status is Status.LAST_KNOWN:
        flags.append("last-known")
    elif tile.status is Status.CHECKING:
        flags.append("checking")
    if not connected:
        flags.append("broker-lost")
    if tile.live and tile.missing:
        flags.append("partial")
    flags += [flag for attribute, flag in _FLAGS if getattr(tile, attribute)]
    record = {"tile": name, "status": tile.status.value, "live": tile.live,
              "vacant": tile.vacant, "occupied": tile.occupied, "blocked": tile.blocked,
              "capacity": tile.capacity, "missing": tile.missing,
              "reason": tile.reason.value if tile.reason is not None else None,
              "flags": flags}
    if drawn is not None:
        record["drawn"] = _said(drawn)
        record["left_out"] = [role for role, _ in drawn.left_out]
    return record


class FrameLog:
    """Appends one JSON line per shown frame that says something new."""

    def __init__(self, path, clock=time.monotonic):
        self.path = path
        self.clock = clock
        self.frames = 0              # frames shown
        self.lines = 0               # lines written
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                           0o644)
        self._view = None            # the view the renderer was last handed
        self._last = None            # what the last line said
        self._tiles = []             # per index: (name, TileView, connected, fragment)
        self._board = None
        self._drawn = None           # (tile and total PartReports, what they say)

    def follow(self, board):
        """Note every view ``board`` hands out, so the log has what the renderer drew.

        The renderer is handed ``board.view(now)``; this wraps that method on
        this one board (the model stays unaware of the log).
        """
        view = board.view

        def noted(now):
            self._view = view(now)
            return self._view

        board.view = noted
        self._board = board
        return self

    def shown(self, page=None, drawn=None):
        """A frame with the last view was just shown: log it if it says something new.

        ``drawn``: the renderer's report of what it drew (PartReports), if given.
        """
        self.frames += 1
        view = self._view
        if view is None:
            return False
        parts = self._parts_of(drawn)
        said = (view.connected, view.total_vacant, page, parts, view.tiles)
        last = self._last
        if last is not None and last[:4] == said[:4] and len(last[4]) == len(view.tiles) \
                and all(a is b or a == b for a, b in zip(last[4], view.tiles)):
            return False
        self._last = said
        self.write(view, page, drawn)
        return True

    def _parts_of(self, drawn):
        """:func:`_parts` of ``drawn``, reused while the renderer's tile and total
        reports are the very objects of last time (it keeps them until it redraws)."""
        if drawn is None:
            return None
        shown = [r for r in drawn if r.part in ("tile", "total")]
        last = self._drawn
        if last is not None and len(last[0]) == len(shown) and all(
                a is b for a, b in zip(last[0], shown)):
            return last[1]
        parts = _parts(shown)
        self._drawn = (shown, parts)
        return parts

    def write(self, view, page=None, drawn=None):
        """Write one line for ``view`` now (whether or not it is new)."""
        specs = self._board.specs if self._board is not None else ()
        on_screen = {r.index: r for r in drawn or () if r.part == "tile"}
        fragments = []
        cache = self._tiles
        for index, tile in enumerate(view.tiles):
            name = tile_name(specs[index]) if index < len(specs) else str(index)
            report = on_screen.get(index)
            if index < len(cache):
                cached = cache[index]
                if cached[0] == name and cached[2] == view.connected and (
                        cached[1] is tile or cached[1] == tile) and cached[4] == report:
                    fragments.append(cached[3])
                    continue
            fragment = json.dumps(tile_record(name, tile, view.connected, report),
                                  separators=(",", ":"), ensure_ascii=False)
            entry = (name, tile, view.connected, fragment, report)
            if index < len(cache):
                cache[index] = entry
            else:
                cache.append(entry)
            fragments.append(fragment)
        del cache[len(view.tiles):]
        head = {"t": round(self.clock(), 6), "frame": self.frames,
                "connected": view.connected, "total": view.total_vacant}
        if page is not None:
            head["page"] = page
        for part, key in (("total", "footer"), ("banner", "banner")):
            texts = [d.phrase for r in drawn or () if r.part == part for d in r.texts]
            if texts:
                head[key] = " · ".join(texts)
        line = "%s,\"tiles\":[%s]}\n" % (json.dumps(head, separators=(",", ":"))[:-1],
                                         ",".join(fragments))
        data = memoryview(line.encode("utf-8"))
        try:
            while data:
                data = data[os.write(self._fd, data):]
        except OSError as exc:
            _LOG.warning("frame log %s: cannot write: %s", self.path, exc)
            return
        self.lines += 1

    def close(self):
        """Close the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _parts(drawn):
    """What a renderer's report says of the tiles and the total, as a comparable
    value (positions left out; the clock and the banner's minutes are no news)."""
    if drawn is None:
        return None
    return tuple((r.part, r.index, tuple((d.role, d.phrase) for d in r.texts), r.left_out)
                 for r in drawn if r.part in ("tile", "total"))


def read(path):
    """Every line of the frame log ``path`` as a dict, oldest first (a torn last line is left out)."""
    frames = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.endswith("\n"):
                frames.append(json.loads(line))
    return frames
