"""Instruction counts of the figures that matter, and their Raspberry Pi 4 / Pi 5 projections.

``python -m benchmarks instructions`` (part of ``make bench``): each scenario
of :mod:`benchmarks.counted` is run three times under valgrind's callgrind
(:mod:`benchmarks.callgrind`), only its measured part counted; the figure is
the median of the three, and their spread (largest − smallest, over the
median) says whether a count can be trusted (target ≤ 2 %).  Each figure is
then projected onto a Raspberry Pi 4 and a Pi 5 (:mod:`benchmarks.pi`), and
the Pi 4 projection judged against its target.

Start-up is counted in three pieces, added up: the interpreter's own
start-up and exit (``python -c pass``, the whole process), the imports the
board's process makes before its first frame (``display.__main__``,
``display.app``, ``display.screen``: pygame, paho, PyYAML, the board), and
the in-process part (:func:`benchmarks.counted.start_up`).

Each scenario also runs once natively, timed by the process's CPU time
(user and system, every thread) over the marked part: its instructions ÷
that time is this machine's rate, a check on the Pi's (a busy machine, or
one waiting on fsync, shows a low rate).
"""

import json
import logging
import os
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass

from . import callgrind, pi

_LOG = logging.getLogger(__name__)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = 3
SPREAD_TARGET = 2.0     # % between the largest and the smallest of the three runs
IMPORTS = ("import ctypes, os; marks = ctypes.CDLL(os.environ[%r]); marks.bb_start(); "
           "import display.__main__, display.app, display.screen; "
           "marks.bb_stop(b'imports x1')" % callgrind.MARKS_ENV)


@dataclass(frozen=True)
class Figure:
    """One counted figure: where it is counted, what it is called, its Pi 4 target."""

    scenario: str        # of benchmarks.counted
    part: str            # the counted part's name, without its " xN"
    what: str
    pi4_ms: float = None  # the Pi 4 projection's target, ms


FIGURES = (
    Figure("redraw-1080p", "full redraw", "full redraw, 40 tiles, 1920×1080"),
    Figure("redraw-1080p", "one-tile update", "one-tile update, 40 tiles, 1920×1080", 2.0),
    Figure("redraw-4k", "full redraw", "full redraw, 40 tiles, 3840×2160"),
    Figure("redraw-4k", "one-tile update", "one-tile update, 40 tiles, 3840×2160", 2.0),
    Figure("burst", "burst", "burst: 10,000 states over 200 wards (40 tiles), 60 frames, "
           "until every tile is final", 1000.0),
    # the burst's floor: what the board's MQTT client alone costs for the same
    # messages (paho's reading and parsing, BrokerLink) — a Pi 4 time no board
    # work can go under (benchmarks/NOTES.md)
    Figure("burst-floor", "burst floor", "the burst's floor: the same 10,000 states "
           "through the board's MQTT client (paho, BrokerLink) with nothing behind it"),
    Figure("start-up-200", "start-up 200 wards", "start-up to a full frame, 200 retained "
           "wards (interpreter + imports + board)", 1000.0),
    Figure("start-up-5000", "start-up 5000 wards", "start-up to a full frame, 5,000 "
           "retained wards (interpreter + imports + board)"),
    Figure("press", "durable press", "one durable press (the agent's ledger write path)"),
)
SCENARIOS = tuple(dict.fromkeys(figure.scenario for figure in FIGURES))


def spread(counts):
    """(largest − smallest) ÷ median, in %."""
    return 100.0 * (max(counts) - min(counts)) / statistics.median(counts)


def _per_item(parts):
    """``{"full redraw x10": n}`` → ``{"full redraw": n / 10}``."""
    found = {}
    for name, value in parts.items():
        base, _, times = name.rpartition(" x")
        found[base] = value / int(times)
    return found


def group(path):
    """Which kind of code an object file of a callgrind dump holds."""
    base = os.path.basename(path or "")
    if "libpython" in base or base.startswith("python") or "/lib-dynload/" in (path or ""):
        return "Python"
    if "pygame" in (path or "") or any(name in base.lower() for name in (
            "sdl", "freetype", "harfbuzz", "png", "jpeg", "brotli", "bz2")):
        return "SDL/FreeType"
    if base.startswith(("libc.so", "ld-linux", "libm.so")):
        return "libc"
    if "sqlite" in base:
        return "SQLite"
    return "other"


def shares(objects):
    """``"Python 71 %, SDL/FreeType 20 %, …"`` of ``{object file: instructions}``."""
    total = float(sum(objects.values())) or 1.0
    groups = {}
    for path, value in objects.items():
        groups[group(path)] = groups.get(group(path), 0) + value
    return ", ".join("%s %.0f %%" % (name, 100.0 * value / total)
                     for name, value in sorted(groups.items(), key=lambda kv: -kv[1])
                     if value / total >= 0.005)


def _env():
    return dict(os.environ, PYTHONPATH=ROOT)


def _native_seconds(scenario):
    """``{part: CPU seconds per item}`` of one native run of ``scenario``."""
    result = subprocess.run([callgrind.python(), "-m", "benchmarks.counted", scenario],
                            capture_output=True, text=True, timeout=900, check=False,
                            env=_env())
    if result.returncode != 0:
        raise RuntimeError("benchmarks.counted %s failed: %s" % (
            scenario, (result.stderr.strip().splitlines() or ["?"])[-1]))
    return _per_item(json.loads(result.stdout.strip().splitlines()[-1]))


def _count_run(scenario, library):
    """``({part: per-item count}, {part: per-item count of the marked part alone},
    {part: {object: instructions}})`` of one run."""
    python = callgrind.python()
    parts, objects = callgrind.count([python, "-m", "benchmarks.counted", scenario],
                                     env=_env(), library=library)
    marked = parts
    if scenario.startswith("start-up"):
        bare, _ = callgrind.count([python, "-c", "pass"], env=_env(), at_start=True)
        imports, _ = callgrind.count([python, "-c", IMPORTS], env=_env(), library=library)
        parts = {name: value + bare["process"] + imports["imports x1"]
                 for name, value in parts.items()}
    return _per_item(parts), _per_item(marked), objects


def count_all(runs=RUNS, scenarios=SCENARIOS, library=None):
    """``({(scenario, part): [per-item counts, one a run]}, {(scenario, part): shares},
    {scenario: why it could not be counted}, {(scenario, part): the marked part's
    own count, the last run's})``.

    The start-up scenarios' counts include the interpreter's and the
    imports' (counted alongside, run by run).  A scenario that fails is
    said so; the others are still counted.
    """
    folder = tempfile.mkdtemp(prefix="bedboard-bench-instructions-")
    counts, kinds, failed, marked = {}, {}, {}, {}
    try:
        library = library or callgrind.build_marks(folder)
        for scenario in scenarios:
            for run in range(runs):
                _LOG.info("counting %s, run %d", scenario, run + 1)
                try:
                    parts, own, objects = _count_run(scenario, library)
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                    _LOG.error("could not count %s: %s", scenario, exc)
                    failed[scenario] = str(exc)[:300]
                    break
                for name, value in parts.items():
                    counts.setdefault((scenario, name), []).append(value)
                    marked[(scenario, name)] = own[name]
                if run == 0:
                    for name, found in objects.items():
                        kinds[(scenario, name.rpartition(" x")[0])] = (
                            "the board's part: " if scenario.startswith("start-up")
                            else "") + shares(found)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return counts, kinds, failed, marked


def rows_for(figure, counts, kinds, native, ratio, ratio_range):
    """The rows of one figure: its count, its Pi 4 projection (judged), its Pi 5 one."""
    found = counts.get((figure.scenario, figure.part))
    if not found:
        return []
    value = statistics.median(found)
    note = "%d runs: %s M; spread %.2f %%" % (len(found), ", ".join(
        "%.2f" % (c / 1e6) for c in found), spread(found))
    if kinds.get((figure.scenario, figure.part)):
        note += "; " + kinds[(figure.scenario, figure.part)]
    seconds, marked = native.get((figure.scenario, figure.part), (None, None))
    if seconds and marked:
        note += "; natively here %.3g ms of CPU for %.4g M of them, %.2f G " \
                "instructions/s" % (seconds * 1e3, marked / 1e6, marked / seconds / 1e9)
    rows = [dict(what="instructions: " + figure.what, value=value / 1e6,
                 unit="M instructions", note=note, runs=[c / 1e6 for c in found])]
    for core in pi.CORES:
        ms = pi.seconds(value, core, ratio) * 1e3
        worst = pi.pessimistic(value, core, ratio_range) * 1e3
        row = dict(what="  … projected on a %s" % core.label(), value=ms, unit="ms",
                   note="pessimistic %.3g ms" % worst)
        if core is pi.PI4 and figure.pi4_ms is not None:
            row["target"] = ("<=", figure.pi4_ms)
            row["note"] += ": %s" % ("met" if worst <= figure.pi4_ms else "not met")
        rows.append(row)
    return rows


def _board_share(counts, ratio, ratio_range):
    """The burst less its floor: the board's own part (feed, model, frames), projected."""
    burst, floor = counts.get(("burst", "burst")), counts.get(("burst-floor", "burst floor"))
    if not burst or not floor:
        return []
    value = statistics.median(burst) - statistics.median(floor)
    rows = [dict(what="instructions: the burst less its floor (the board's own feed, "
                 "model and 60 frames)", value=value / 1e6, unit="M instructions",
                 note="%.0f k a message" % (value / 1e3 / 10000))]
    for core in pi.CORES:
        rows.append(dict(what="  … projected on a %s" % core.label(),
                         value=pi.seconds(value, core, ratio) * 1e3, unit="ms",
                         note="pessimistic %.3g ms" % (
                             pi.pessimistic(value, core, ratio_range) * 1e3)))
    return rows


def measure():
    """The rows for ``make bench``."""
    why = callgrind.available()
    if why:
        raise RuntimeError(why)
    counts, kinds, failed, marked = count_all()
    native = {}         # (scenario, part): (CPU seconds natively, the marked part's count)
    for scenario in SCENARIOS:
        try:
            for name, seconds in _native_seconds(scenario).items():
                native[(scenario, name)] = (seconds, marked.get((scenario, name)))
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
            _LOG.error("could not time %s natively: %s", scenario, exc)
    ratio, ratio_range, source = pi.arm_ratio()
    rows = []
    for figure in FIGURES:
        if figure.scenario in failed:
            rows.append(dict(what="instructions: " + figure.what, value=float("nan"),
                             unit="M instructions", note="not counted: %s"
                             % failed[figure.scenario]))
            continue
        rows += rows_for(figure, counts, kinds, native, ratio, ratio_range)
    rows += _board_share(counts, ratio, ratio_range)
    spreads = [spread(found) for found in counts.values() if len(found) > 1]
    rows.append(dict(what="instruction counts: the largest spread of %d runs (of %d figures)"
                     % (RUNS, len(spreads)), value=max(spreads) if spreads else float("nan"),
                     unit="%",
                     target=("<=", SPREAD_TARGET)))
    rows.append(dict(what="projection: AArch64 instructions per x86-64 instruction",
                     value=ratio, unit="×", note="%s; %.2f to %.2f" % (
                         source, ratio_range[0], ratio_range[1])))
    for core in pi.CORES:
        rows.append(dict(what="projection: %s, instructions per cycle assumed for "
                         "interpreted Python" % core.label(), value=core.ipc, unit="IPC",
                         note="%.1f to %.1f; see benchmarks/pi.py" % (core.low, core.high)))
    return rows


def closing(rows):
    """BENCHMARKS.md's note on the counts: each run's, their spread, and the projection's basis."""
    runs = max([len(row["runs"]) for row in rows if row.get("runs")] or [RUNS])
    lines = ["## Instruction counts, run by run", "",
             "Each figure counted %d times under callgrind (x86-64, this run's "
             "interpreter); the table's figure is the median. Spread: (largest − "
             "smallest) ÷ median, target ≤ %.0f %%." % (runs, SPREAD_TARGET), "",
             "| figure | %s | spread |" % " | ".join("run %d (M)" % (n + 1)
                                                    for n in range(runs)),
             "| --- |%s ---: |" % (" ---: |" * runs)]
    for row in rows:
        if row.get("runs"):
            lines.append("| %s | %s | %.2f %% |" % (
                row["what"].replace("instructions: ", ""),
                " | ".join("%.3f" % value for value in row["runs"]),
                spread(row["runs"])))
    ratio, ratio_range, source = pi.arm_ratio()
    lines += ["", "Projected: time = instructions × %.3f AArch64 instructions per x86-64 "
              "one (%.2f to %.2f; %s) ÷ (clock × IPC). IPC assumed for interpreted "
              "Python: %s. Why these, and what a projection leaves out: "
              "`benchmarks/pi.py`; the calibration: `python -m benchmarks.calibrate`."
              % (ratio, ratio_range[0], ratio_range[1], source, "; ".join(
                  "%s %.1f (%.1f to %.1f)" % (core.label(), core.ipc, core.low, core.high)
                  for core in pi.CORES))]
    return "\n".join(lines)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for found in measure():
        print("%-100s %12.4g %-14s %s" % (found["what"], found["value"], found["unit"],
                                          found.get("note") or ""))
