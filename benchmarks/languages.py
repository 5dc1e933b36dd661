"""Benchmark: a 40-tile 1920×1080 board in two languages against three (same run).

Each variant runs in a process of its own (so that its caches and fonts
are its own), on SDL's dummy driver, drawing the sample NRS departments
(display/samples.py) over 40 tiles:

* ``[bn, en]`` — as boards are today;
* ``[bn, en, hi]`` — what the board does with three: at 40 tiles a third
  line would need a second page, so Hindi and English take turns; the figure
  is the full redraw a turn costs (new layout, every tile's texts);
* ``[bn, en, hi]`` three at once — the same board with every tile saying all
  three (the plan with three lines, forced), for the cost of a third script;
* all eight languages, taking turns.

For each: the **full redraw** (every part of the picture drawn again: the
median of many, after the first frame filled the caches), and the
process's **RSS** and peak RSS (VmHWM) after drawing every turn.
``python -m benchmarks.languages`` prints the rows; ``make bench`` (or
``python -m benchmarks languages``) tabulates them.
"""

import json
import os
import statistics
import subprocess
import sys
import time

COUNT = 40
SIZE = (1920, 1080)
RUNS = 40
VARIANTS = (
    ("2 languages [bn, en]", ("bn", "en"), False),
    ("3 languages [bn, en, hi], taking turns", ("bn", "en", "hi"), False),
    ("3 languages [bn, en, hi], three at once", ("bn", "en", "hi"), True),
    ("8 languages, taking turns", ("bn", "en", "hi", "ur", "ne", "sat", "or", "pa"), False),
)


def _child(languages, at_once):
    """Measure one variant in this process; print its figures as JSON."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame  # pylint: disable=import-outside-toplevel
    from display import samples  # pylint: disable=import-outside-toplevel
    pygame.display.init()
    pygame.display.set_mode(SIZE)
    renderer = samples.renderer(languages, SIZE)
    if at_once:
        renderer.turns.at_once = lambda count, labels: len(languages)
    view = samples.view(COUNT)
    surface = pygame.Surface(SIZE)
    turns = renderer.turns.turns(COUNT, tuple(tile.label for tile in view.tiles))
    seconds = renderer.turns.turn_seconds
    for turn in range(len(turns)):                 # every turn drawn once: caches filled
        renderer.draw(surface, view, turn * seconds, samples.LOCAL)
    redraws, turn_changes = [], []
    for run in range(RUNS):
        renderer.invalidate()
        started = time.perf_counter()
        renderer.draw(surface, view, 0.0, samples.LOCAL)
        redraws.append(time.perf_counter() - started)
        if len(turns) > 1:                          # a turn: the next languages, redrawn
            started = time.perf_counter()
            renderer.draw(surface, view, (run % (len(turns) - 1) + 1) * seconds,
                          samples.LOCAL)
            turn_changes.append(time.perf_counter() - started)
            renderer.draw(surface, view, 0.0, samples.LOCAL)
    status = {}
    with open("/proc/self/status", encoding="utf-8") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                status[key] = int(value.split()[0]) / 1024.0
    print(json.dumps({
        "shown": [list(group) for group in turns],
        "redraw_ms": statistics.median(redraws) * 1000,
        "turn_ms": statistics.median(turn_changes) * 1000 if turn_changes else None,
        "rss_mib": status.get("VmRSS"), "hwm_mib": status.get("VmHWM")}))


def measure():
    """The rows: each variant's redraw, turn and memory, from processes of their own."""
    rows = []
    for what, languages, at_once in VARIANTS:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.languages", "--child", ",".join(languages)]
            + (["--at-once"] if at_once else []),
            capture_output=True, text=True, timeout=900, check=True,
            env=dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy"))
        found = json.loads(done.stdout.strip().splitlines()[-1])
        shown = ", then ".join("/".join(group) for group in found["shown"])
        rows.append({"what": "40 tiles 1080p, %s: full redraw" % what,
                     "value": found["redraw_ms"], "unit": "ms", "target": None,
                     "note": "shows %s" % shown})
        if found["turn_ms"] is not None:
            rows.append({"what": "  … a turn of its languages (new layout, every tile)",
                         "value": found["turn_ms"], "unit": "ms", "target": None})
        rows.append({"what": "  … RSS after every turn drawn", "value": found["rss_mib"],
                     "unit": "MiB", "target": None,
                     "note": "peak %.1f MiB" % found["hwm_mib"]})
    return rows


if __name__ == "__main__":
    if "--child" in sys.argv:
        _child(tuple(sys.argv[sys.argv.index("--child") + 1].split(",")),
               "--at-once" in sys.argv)
    else:
        for measured in measure():
            print("%-70s %10.1f %s  %s" % (measured["what"], measured["value"],
                                           measured["unit"], measured.get("note") or ""))
