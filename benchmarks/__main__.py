"""`make bench`: measure the board and the agent, print a table, write BENCHMARKS.md and bench.json.

Each part lives in its own module and exposes ``measure()``, returning rows
of ``{"what", "value", "unit", "target", "note"}``; a target is
``(op, limit)`` or ``(op, limit, words)`` with op ``<=``, ``>=`` or
``within`` (±limit), and each row is marked met or not met; a row may
also carry ``runs`` (each run's figure, kept in bench.json).  A timing
judged by its ratio to a figure of the same run (:data:`RATIOS`) gets a row
of its own beside it.  Times are comparable only within one run on one
machine: the report says which machine, when, and with which versions; the
``instructions`` part counts instructions, which do not depend on the
machine, and projects them onto a Raspberry Pi 4 and 5.  A part may also
have ``closing(rows)``, a note of its own after the table;
``benchmarks/NOTES.md`` — what the figures mean and where a target is
missed, why — is appended to BENCHMARKS.md.
"""

import argparse
import datetime
import importlib
import json
import logging
import math
import os
import platform
import subprocess
import sys

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
_LOG = logging.getLogger(__name__)

PARTS = ("display", "languages", "window", "paint", "scale", "agent", "soak", "cluster",
         "instructions")
# Timing targets judged against a figure of the same run, so that a slower (or
# busier) machine moves both and does not turn a met target into a miss:
# (part, the figure's "what" starts with, the reference's "what" starts with,
# at most this many times the reference, the reference in words).  The burst's
# 7× is its 1 s target over the broker's 140 ms intake where that target was set.
RATIOS = (
    ("paint", "burst: 10000 states", "  … of which the broker took", 7.0,
     "the broker's own intake of the same burst"),
)
HERE = os.path.dirname(os.path.abspath(__file__))


def machine():
    """One line describing the machine the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(("model name", "Model")):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            mem_kib = int(handle.readline().split()[1])
        memory = "%.1f GiB" % (mem_kib / 2 ** 20)
    except (OSError, ValueError, IndexError):
        memory = "unknown memory"
    return "%s, %d cores, %s, %s %s" % (cpu, os.cpu_count() or 0, memory, platform.system(),
                                        platform.release())


def versions():
    """The versions the figures depend on."""
    found = {"python": platform.python_version()}
    from importlib import metadata  # pylint: disable=import-outside-toplevel
    for package in ("pygame-ce", "paho-mqtt", "gpiozero"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    try:
        import pygame  # pylint: disable=import-outside-toplevel
        found["SDL"] = ".".join(str(part) for part in pygame.get_sdl_version())
    except ImportError:
        pass
    for name, package in (("Mosquitto", "mosquitto"), ("Xvfb", "xvfb"), ("weston", "weston")):
        try:
            result = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package],
                                    capture_output=True, text=True, timeout=10, check=False)
            found[name] = result.stdout.strip() if result.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired):
            found[name] = None
    return found


def target_text(row):
    """The target as words (``≤ 50 MiB``), or ''."""
    target = row.get("target")
    if not target:
        return ""
    if isinstance(target, str):     # a target in words only: shown, not judged
        return target
    op, limit = target[0], target[1]
    unit = row.get("unit", "")
    if len(target) > 2:
        return "%s %s (%s %s)" % ({"<=": "≤", ">=": "≥"}.get(op, op), target[2],
                                  _fmt(limit), unit)
    if op == "within":
        return "within ±%s %s" % (_fmt(limit), unit)
    return "%s %s %s" % ({"<=": "≤", ">=": "≥"}[op], _fmt(limit), unit)


def met(row):
    """True, False, or None (no target, or no figure)."""
    target = row.get("target")
    value = row.get("value")
    if not target or isinstance(target, str) or value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    op, limit = target[0], target[1]
    if op == "<=":
        return value <= limit
    if op == ">=":
        return value >= limit
    if op == "within":
        return abs(value) <= limit
    raise ValueError("unknown target %r" % (target,))


def by_ratio(rows, ratios=RATIOS):
    """``rows`` with, after each figure of ``ratios``, a row judging it by its ratio."""
    out = list(rows)
    for part, what, reference, factor, words in ratios:
        mine = [row for row in rows if row.get("part") == part
                and row["what"].startswith(what)]
        theirs = [row for row in rows if row.get("part") == part
                  and row["what"].startswith(reference)]
        if not mine or not theirs:
            continue
        value, base = mine[0]["value"], theirs[0]["value"]
        ratio = value / base if isinstance(value, (int, float)) and base else float("nan")
        out.insert(out.index(mine[0]) + 1, dict(
            part=part, what="  … ÷ %s (%s %s, same run)" % (words, _fmt(base),
                                                          theirs[0].get("unit", "")),
            value=ratio, unit="×", target=("<=", factor)))
    return out


def _fmt(value):
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return "%.3g" % value if abs(value) < 100 else "%.0f" % value
    return str(value)


def table(rows):
    """The rows as a Markdown table."""
    lines = ["| part | what | value | unit | target | met |",
             "| --- | --- | ---: | --- | --- | --- |"]
    for row in rows:
        verdict = {True: "met", False: "**not met**", None: ""}[met(row)]
        what = row["what"] + (" (%s)" % row["note"] if row.get("note") else "")
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            row["part"], what, _fmt(row["value"]), row.get("unit", ""), target_text(row),
            verdict))
    return "\n".join(lines)


def report(rows, when, missing=(), closing=()):
    """BENCHMARKS.md's text (``closing``: the parts' own closing notes, Markdown)."""
    found = versions()
    text = ["# Benchmarks", "",
            "Measured by `make bench` on %s, on: %s." % (when, machine()), "",
            "Versions: %s." % ", ".join("%s %s" % (k, v) for k, v in found.items()
                                        if v is not None), "",
            "Compare figures only within one run: they depend on the machine and on "
            "what else it was doing. The same figures are in `bench.json`.", "",
            table(rows)]
    if missing:
        text += ["", "Not measured: %s." % ", ".join(missing)]
    for note in closing:
        text += ["", note.strip()]
    notes = os.path.join(HERE, "NOTES.md")
    if os.path.exists(notes):
        with open(notes, encoding="utf-8") as handle:
            text += ["", handle.read().strip()]
    return "\n".join(text) + "\n", found


def _figure(row):
    """One row as bench.json has it (``runs``: each run's figure, where there were several)."""
    figure = {"part": row["part"], "what": row["what"],
              "value": None if isinstance(row["value"], float)
              and math.isnan(row["value"]) else row["value"],
              "unit": row.get("unit", ""), "target": target_text(row) or None,
              "met": met(row), "note": row.get("note")}
    if row.get("runs"):
        figure["runs"] = list(row["runs"])
    return figure


def main(argv=None):
    """Run every part's measure() and report."""
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", metavar="PART",
                        help="any of %s (default: all)" % ", ".join(PARTS))
    parser.add_argument("--out", default="BENCHMARKS.md")
    parser.add_argument("--json", default="bench.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    unknown = [part for part in args.parts if part not in PARTS]
    if unknown:
        parser.error("no part %s (choose from %s)" % (", ".join(unknown), ", ".join(PARTS)))
    rows, missing, closing = [], [], []
    for part in args.parts or PARTS:
        print("measuring %s ..." % part, file=sys.stderr, flush=True)
        module = importlib.import_module("benchmarks." + part)
        try:
            measured = module.measure()
        except Exception as exc:  # noqa: BLE001 - one part failing leaves the others
            _LOG.exception("benchmark part %s failed", part)
            missing.append("%s (%s: %s)" % (part, type(exc).__name__, exc))
            continue
        for row in measured:
            rows.append(dict(row, part=part))
        if hasattr(module, "closing"):      # a part's own closing note, from its rows
            closing.append(module.closing(measured))
    rows = by_ratio(rows)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text, found = report(rows, when, missing, closing)
    print(text)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(text)
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump({"when": when, "machine": machine(), "versions": found,
                   "not measured": missing,
                   "figures": [_figure(row) for row in rows]},
                  handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    print("written to %s and %s" % (args.out, args.json), file=sys.stderr)
    return 0 if rows and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
