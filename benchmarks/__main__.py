"""`make bench`: measure the board and the agent, print a table, write BENCHMARKS.md.

Each part lives in its own module (``benchmarks.display``,
``benchmarks.agent``) and exposes ``measure()``, returning rows of
``{"what", "value", "unit", "target"}``.  Figures are comparable only within
one run on one machine: the table says which machine.
"""

import argparse
import datetime
import importlib
import os
import platform
import sys

PARTS = ("display", "agent", "cluster")


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
    return "%s, %d cores, %s, %s %s, Python %s" % (
        cpu, os.cpu_count() or 0, memory, platform.system(), platform.release(),
        platform.python_version())


def _fmt(value):
    if isinstance(value, float):
        return "%.3g" % value if abs(value) < 100 else "%.0f" % value
    return str(value)


def table(rows):
    """The rows as a Markdown table."""
    lines = ["| part | what | value | unit | target |", "| --- | --- | ---: | --- | --- |"]
    for row in rows:
        lines.append("| %s | %s | %s | %s | %s |" % (
            row["part"], row["what"], _fmt(row["value"]), row.get("unit", ""),
            row.get("target") or ""))
    return "\n".join(lines)


def main(argv=None):
    """Run every part's measure() and report."""
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", metavar="PART",
                        help="display and/or agent (default: both)")
    parser.add_argument("--out", default="BENCHMARKS.md")
    args = parser.parse_args(argv)
    unknown = [part for part in args.parts if part not in PARTS]
    if unknown:
        parser.error("no part %s (choose from %s)" % (", ".join(unknown), ", ".join(PARTS)))
    rows, missing = [], []
    for part in args.parts or PARTS:
        try:
            module = importlib.import_module("benchmarks." + part)
        except ModuleNotFoundError as exc:
            if exc.name != "benchmarks." + part:
                raise
            missing.append(part)
            continue
        print("measuring %s ..." % part, file=sys.stderr, flush=True)
        for row in module.measure():
            rows.append(dict(row, part=part))
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = ["# Benchmarks", "",
            "Measured by `make bench` on %s, on: %s." % (when, machine()), "",
            "Compare figures only within one run: they depend on the machine and "
            "on what else it was doing.", "", table(rows)]
    if missing:
        text += ["", "Not measured (not built yet): %s." % ", ".join(missing)]
    report = "\n".join(text) + "\n"
    print(report)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(report)
    print("written to %s" % args.out, file=sys.stderr)
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
