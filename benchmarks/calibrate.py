"""Is an x86-64 instruction count a fair proxy for a Pi's?  The same Python work counted on both.

``python -m benchmarks.calibrate [--arm64-root DIR]`` counts three pieces of
the board's Python work — the burst's per-message model work (``Feed`` and
``Board``, no pixels), the payload check (``WardState.parse``) and a mix of
plain Python — per unit (each run at N and 2N units, the difference divided
by N, so start-up and imports cancel), with:

* the interpreter ``make bench`` counts with (this venv's), by callgrind;
* Debian's ``python3.11`` on amd64 (``/usr/bin/python3.11``: the same
  package a Raspberry Pi OS bookworm runs, built for amd64), under
  ``qemu-x86_64`` with a counting plugin;
* Debian's ``python3.11`` for arm64 — the interpreter Raspberry Pi OS
  bookworm runs — from a bookworm arm64 root (the booted-appliance work's,
  ``~/.cache/bedboard/roots/*-arm64-*``, or ``--arm64-root DIR``; or
  ``--fetch-arm64-root DIR`` makes the smallest one that runs it: Debian's
  arm64 packages of python3.11 and the libraries it loads, downloaded with
  apt-get into private lists and unpacked, nothing installed), under
  ``qemu-aarch64`` with the same plugin.

qemu's counting agrees with callgrind's (``python3.11 -c pass``: 31.55 M
both, 0.02 % apart), so the three compare.  It writes
``benchmarks/arm64-calibration.json``: the arm64 count per x86-64 count of
``make bench``'s interpreter, which :mod:`benchmarks.pi` then uses.  Without
an arm64 root it measures the amd64 part alone and says so (the AArch64
factor stays assumed).

The counting plugin (:data:`PLUGIN_C`) needs a qemu built with plugins:
Debian's ``qemu-user`` (``apt-get install qemu-user``: its ``qemu-aarch64``
lists ``-plugin`` in ``-h``), not ``qemu-user-static``.
"""

import argparse
import glob
import gzip
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from . import callgrind, pi

_LOG = logging.getLogger(__name__)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEBIAN_PYTHON = "/usr/bin/python3.11"
UNITS = 400

# QEMU's TCG plugin API, version 1 (QEMU 7.2): the few declarations used, so
# that no qemu development header is needed.  Counts every guest instruction
# (per translated block, inline: no callback per block executed).
PLUGIN_C = r"""
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t, void *);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, qemu_plugin_vcpu_tb_trans_cb_t);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *, enum qemu_plugin_op,
                                              void *, uint64_t);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, qemu_plugin_udata_cb_t, void *);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;
static uint64_t executed;
static const char *out_path;

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &executed,
                                             qemu_plugin_tb_n_insns(tb));
}
static void finished(qemu_plugin_id_t id, void *userdata) {
    FILE *out = fopen(out_path, "w");
    if (out) { fprintf(out, "%llu\n", (unsigned long long) executed); fclose(out); }
}
__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (!strncmp(argv[i], "out=", 4)) out_path = argv[i] + 4;
    if (!out_path) return -1;
    qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
    qemu_plugin_register_atexit_cb(id, finished, NULL);
    return 0;
}
"""

# Each workload: Python source run as ``-c SOURCE UNITS``; set-up is the same
# for any UNITS, the loop runs UNITS times.
_SETUP = """
import sys, tempfile
from datetime import datetime, timezone
units = int(sys.argv[1])
WALL = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
from bedboard.payloads import WardState
def state(i, seq):
    capacity = 20 + i %% 60
    return WardState(capacity=capacity, occupied=(i * 7 + seq * 3) %% (capacity - 1),
                     blocked=(seq + i) %% 2, seq=seq, at=WALL, agent="bench-agent-%%d" %% i)
"""
WORKLOADS = {
    "board model, per burst message": _SETUP + """
from bedboard.link import Received
from bedboard.topics import status_topic, ward_topic
from benchmarks.common import agent_id, ward_key, write_board
from display import config
from display.board import Board
from display.feed import Feed, apply
b = config.read(write_board(tempfile.mkdtemp(), 40, wards_per_tile=5)).board
board = Board(b.hospital, b.tiles, b.stale_after, b.few_left, b.highlight_seconds,
              now=1000.0, retained_for=1.25 * b.heartbeat)
feed = Feed("crs", None, clock=lambda: 1000.0, wall_clock=lambda: WALL,
            wall_synced=lambda: True)
feed.on_connection(True)
for i in range(200):
    feed.on_message(Received(status_topic("crs", agent_id(i)), b"online", True))
    feed.on_message(Received(ward_topic("crs", ward_key(i, 5), "state"),
                             state(i, 1).to_json(), True))
apply(board, feed.drain())
messages = [Received(ward_topic("crs", ward_key(n %% 200, 5), "state"),
                     state(n %% 200, 2 + n // 200).to_json(), False)
            for n in range(2 * %(units)d)]
for number, message in enumerate(messages[:units]):
    feed.on_message(message)
    if number %% 167 == 166:
        apply(board, feed.drain())
        board.view(1000.0)
apply(board, feed.drain())
""",
    "payload check (WardState.parse)": _SETUP + """
payloads = [state(n %% 200, 2 + n // 200).to_json() for n in range(2 * %(units)d)]
for payload in payloads[:units]:
    WardState.parse(payload)
""",
    "plain Python (dicts, strings, sorting)": _SETUP + """
words = ["ward-%%d" %% i for i in range(200)]
for n in range(units):
    table = {}
    for word in words:
        table[word] = table.get(word, 0) + len(word) + n
    ordered = sorted(table.items(), key=lambda item: (-item[1], item[0]))
    text = ",".join("%%s=%%d" %% pair for pair in ordered[:20])
""",
}


def find_arm64_root():
    """A bookworm arm64 root with Debian's python3.11 (the appliance work's), or None."""
    found = os.environ.get("BEDBOARD_ARM64_ROOT")
    candidates = [found] if found else sorted(glob.glob(os.path.join(
        os.environ.get("BEDBOARD_CACHE", os.path.expanduser("~/.cache/bedboard")),
        "roots", "*-arm64-*")))
    for root in candidates:
        if root and os.path.exists(os.path.join(root, "usr/bin/python3.11")):
            return root
    return None


ARM64_PACKAGES = ("python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib",
                  "libc6", "zlib1g", "libexpat1", "libssl3", "libffi8")


def fetch_arm64_root(folder):
    """Unpack Debian's arm64 python3.11 (and what it loads) into ``folder``; its path.

    apt-get downloads the packages with private lists (``folder``/.apt): the
    machine's own apt configuration and packages are left as they are.
    """
    apt = os.path.join(folder, ".apt")
    for sub in ("lists/partial", "cache/archives/partial", "debs"):
        os.makedirs(os.path.join(apt, sub), exist_ok=True)
    options = ["-o", "Dir::State::Lists=%s/lists" % apt, "-o", "Dir::Cache=%s/cache" % apt,
               "-o", "APT::Architecture=arm64", "-o", "APT::Architectures::=arm64",
               "-o", "Debug::NoLocking=1"]
    subprocess.run(["apt-get", "-q"] + options + ["update"], check=True, capture_output=True)
    debs = os.path.join(apt, "debs")
    subprocess.run(["apt-get", "-q"] + options + ["download"] + list(ARM64_PACKAGES),
                   check=True, capture_output=True, cwd=debs)
    for name in sorted(os.listdir(debs)):
        subprocess.run(["dpkg", "-x", os.path.join(debs, name), folder], check=True)
    return folder


def find_qemu(arch):
    """``qemu-ARCH`` with plugin support, or None (qemu-user-static has none)."""
    binary = shutil.which("qemu-%s" % arch)
    if binary is None:
        return None
    result = subprocess.run([binary, "-h"], capture_output=True, text=True, check=False)
    return binary if "-plugin" in result.stdout else None


def build_plugin(folder):
    """The counting plugin, compiled into ``folder``; its path."""
    source, library = os.path.join(folder, "count.c"), os.path.join(folder, "count.so")
    with open(source, "w", encoding="ascii") as handle:
        handle.write(PLUGIN_C)
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", library, source], check=True,
                   capture_output=True)
    return library


def _env():
    # this checkout first, then the venv's pure-Python paho and PyYAML (an x86-64
    # interpreter's C parts do not load into arm64's, which falls back to Python)
    site = glob.glob(os.path.join(os.path.dirname(os.path.dirname(sys.executable)),
                                  "lib", "python3*", "site-packages"))
    return dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT] + site),
                PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0")


def count_qemu(qemu, plugin, python, source, units, folder, root=None):
    """Instructions of ``python -c source units`` under ``qemu`` (the whole process)."""
    out = os.path.join(folder, "count.txt")
    command = [qemu, "-plugin", "%s,out=%s" % (plugin, out)]
    if root:
        command += ["-L", root]
    subprocess.run(command + [python, "-c", source, str(units)], env=_env(), check=True,
                   capture_output=True, timeout=1800)
    with open(out, encoding="ascii") as handle:
        return int(handle.read())


def count_callgrind(source, units):
    """Instructions of this venv's ``python -c source units`` under callgrind."""
    parts, _ = callgrind.count([callgrind.python(), "-c", source, str(units)], env=_env(),
                               at_start=True)
    return parts["process"]


def per_unit(counter, source, units=UNITS):
    """Instructions per unit of work: (count at 2N − count at N) ÷ N."""
    return (counter(source, 2 * units) - counter(source, units)) / units


def calibrate(root=None, units=UNITS):
    """``{workload: {interpreter: instructions per unit}}`` and the ratio file's content."""
    folder = tempfile.mkdtemp(prefix="bedboard-calibrate-")
    try:
        plugin = build_plugin(folder)
        counters = {"this venv (callgrind)": count_callgrind}
        x86 = find_qemu("x86_64")
        if x86 and os.path.exists(DEBIAN_PYTHON):
            counters["Debian amd64 (qemu)"] = lambda source, n: count_qemu(
                x86, plugin, DEBIAN_PYTHON, source, n, folder)
        arm = find_qemu("aarch64")
        if arm and root:
            counters["Debian arm64 (qemu)"] = lambda source, n: count_qemu(
                arm, plugin, os.path.join(root, "usr/bin/python3.11"), source, n, folder,
                root)
        found = {}
        for name, source in WORKLOADS.items():
            found[name] = {}
            for who, counter in counters.items():
                _LOG.info("counting %s with %s", name, who)
                found[name][who] = per_unit(counter, source % {"units": units}, units)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return found


def summary(found):
    """The ratio file's content from :func:`calibrate`'s figures."""
    mine = "this venv (callgrind)"
    build = [row["Debian amd64 (qemu)"] / row[mine] for row in found.values()
             if "Debian amd64 (qemu)" in row]
    arm = [row["Debian arm64 (qemu)"] / row[mine] for row in found.values()
           if "Debian arm64 (qemu)" in row]
    if arm:
        ratio, low, high = statistics.median(arm), min(arm), max(arm)
        how = ("measured: Debian's python3.11 on arm64 (qemu-aarch64) per this venv's "
               "x86-64 instruction, median of %d workloads" % len(arm))
    else:
        factor = statistics.median(build) if build else 1.0
        ratio = pi.ARM_PER_X86 * factor
        low, high = (pi.ARM_PER_X86_RANGE[0] * factor, pi.ARM_PER_X86_RANGE[1] * factor)
        how = ("partly measured: Debian's amd64 python3.11 takes %.3f× this venv's "
               "instructions; the AArch64 factor (%.2f) is still assumed (no arm64 root)"
               % (factor, pi.ARM_PER_X86))
    return {"ratio": round(ratio, 4), "range": [round(low, 4), round(high, 4)], "how": how,
            "workloads": {name: {who: round(value) for who, value in row.items()}
                          for name, row in found.items()}}


def _debian_version(root):
    """The Debian version of ``root``'s python3.11 (its changelog's first line)."""
    for path in glob.glob(os.path.join(root, "usr/share/doc/*python3.11*/changelog.Debian.gz")):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            first = handle.readline()
        if "(" in first:
            return first.split("(", 1)[1].split(")", 1)[0]
    return "of unknown version"


def main(argv=None):
    """Count, print, and write the calibration file."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.calibrate",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--arm64-root", default=None, help="a bookworm arm64 root with "
                        "python3.11 (default: the appliance work's cached one)")
    parser.add_argument("--fetch-arm64-root", metavar="DIR", default=None,
                        help="first unpack Debian's arm64 python3.11 into DIR, and use it")
    parser.add_argument("--out", default=pi.CALIBRATION)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.fetch_arm64_root:
        args.arm64_root = fetch_arm64_root(args.fetch_arm64_root)
    root = args.arm64_root or find_arm64_root()
    if root is None:
        _LOG.warning("no arm64 root with python3.11: the AArch64 factor stays assumed")
    elif find_qemu("aarch64") is None:
        _LOG.warning("no qemu-aarch64 with plugins (apt-get install qemu-user): the "
                     "AArch64 factor stays assumed")
    found = calibrate(root)
    result = summary(found)
    if root:
        result["arm64 root"] = "%s (Debian's python3.11 %s)" % (root, _debian_version(root))
    for name, row in found.items():
        print("%-42s %s" % (name, ", ".join("%s %.0f" % item for item in row.items())))
    print("ratio %.3f (%.3f to %.3f): %s" % (result["ratio"], result["range"][0],
                                             result["range"][1], result["how"]))
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
        handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
