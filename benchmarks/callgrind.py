"""Instructions counted by valgrind's callgrind: the marks a process sets, the runs that read them.

These VMs expose no hardware counters (``perf stat -e instructions`` says
``<not supported>``); callgrind counts every instruction the process
executes (user space only: not the kernel's), the same on any x86-64 machine
whatever else it is doing.

Only the part measured is counted.  The counted process runs under
``valgrind --tool=callgrind --instr-atstart=no``: nothing is instrumented
until it calls :meth:`Marks.start`, which starts instrumentation (for every
thread: paho's network thread counts too) and zeroes the counters;
:meth:`Marks.stop` dumps them under the part's name and stops again, so
interpreter start-up, imports and set-up are never counted.  The marks are
callgrind's client requests (``valgrind/callgrind.h``) in a tiny C library
built here with gcc and loaded with ctypes; calling it from Python costs
~2,300 instructions per start/stop pair (an empty part counts that), which
is noise beside the parts measured.  Outside valgrind the same calls do
nothing, so a scenario also runs natively (the suite does).
"""

import ctypes
import glob
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time

_LOG = logging.getLogger(__name__)

MARKS_C = r"""
#include <valgrind/callgrind.h>
void bb_start(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_ZERO_STATS; }
void bb_stop(const char *name) { CALLGRIND_DUMP_STATS_AT(name); CALLGRIND_STOP_INSTRUMENTATION; }
int bb_on_valgrind(void) { return RUNNING_ON_VALGRIND; }
"""
_TRIGGER = "desc: Trigger: Client Request: "
MARKS_ENV = "BEDBOARD_CALLGRIND_MARKS"      # the built library, for the counted process
HEADER = "/usr/include/valgrind/callgrind.h"


class Unavailable(RuntimeError):
    """valgrind, its header or gcc is missing: nothing can be counted."""


def available():
    """None when instructions can be counted here, else why not (one line)."""
    missing = [name for name in ("valgrind", "gcc") if shutil.which(name) is None]
    if not os.path.exists(HEADER):
        missing.append(HEADER)
    if missing:
        return "not installed: %s (scripts/system-deps --bench installs valgrind and gcc)" \
            % ", ".join(missing)
    return None


def build_marks(folder):
    """Compile the marks library into ``folder``; its path.  Raises Unavailable."""
    why = available()
    if why:
        raise Unavailable(why)
    source = os.path.join(folder, "bedboard_marks.c")
    library = os.path.join(folder, "bedboard_marks.so")
    with open(source, "w", encoding="ascii") as handle:
        handle.write(MARKS_C)
    result = subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", library, source],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise Unavailable("gcc could not build the callgrind marks: %s"
                          % result.stderr.strip()[:300])
    return library


class Marks:
    """Where a counted process starts and stops counting (no-ops outside valgrind)."""

    def __init__(self, library=None):
        library = library or os.environ.get(MARKS_ENV)
        self._lib = ctypes.CDLL(library) if library else None
        self.counting = bool(self._lib is not None and self._lib.bb_on_valgrind())
        self.names = []
        self.seconds = {}          # part: CPU seconds of this process (every thread)
        self._started = None

    def start(self):
        """Zero the counters and count from here (every thread)."""
        if self._lib is not None:
            self._lib.bb_start()
        self._started = time.process_time()

    def stop(self, name):
        """Dump what was counted since :meth:`start` as part ``name``; stop counting."""
        used = time.process_time() - self._started
        if self._lib is not None:
            self._lib.bb_stop(name.encode("ascii"))
        self.names.append(name)
        self.seconds[name] = used


def read_dump(path):
    """``(part name, instructions, {object file: its own instructions})`` of one
    callgrind output file, or None for a dump no :class:`Marks` asked for (the
    one callgrind writes when the process ends)."""
    name, total, objects = None, None, {}
    current, inclusive, names = None, False, {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            head = line[:1]
            if head.isdigit() or head in "+-*":
                if inclusive:          # the line after calls=: the callee's cost
                    inclusive = False
                    continue
                fields = line.split()
                if len(fields) > 1:
                    objects[current] = objects.get(current, 0) + int(fields[1])
            elif line.startswith("ob="):
                current = _name(line[3:].strip(), names)
            elif line.startswith("cob="):       # names an object for later ob= too
                _name(line[4:].strip(), names)
            elif line.startswith("calls="):
                inclusive = True
            elif line.startswith(_TRIGGER):
                name = line[len(_TRIGGER):].strip()
            elif line.startswith("totals:") or (total is None and line.startswith("summary:")):
                total = int(line.split()[1])
    if name is None or total is None:
        return None
    return name, total, objects


def _name(text, names):
    """An object's name from ``ob=``: ``/path``, or compressed ``(3) /path`` then ``(3)``."""
    if not text.startswith("("):
        return text
    key, _, rest = text.partition(")")
    if rest.strip():
        names[key] = rest.strip()
    return names.get(key, text)


def whole_process(path):
    """The instructions of a process counted from its start (its termination dump)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    raise ValueError("%s has no totals" % path)


def valgrind_command(out_file, at_start=False):
    """The ``valgrind`` words that run a command under callgrind (its own log in a file)."""
    return ["valgrind", "--tool=callgrind", "--callgrind-out-file=%s" % out_file,
            "--log-file=%s-valgrind.log" % out_file,
            "--instr-atstart=%s" % ("yes" if at_start else "no"), "--dump-instr=no",
            "--compress-strings=no", "--compress-pos=no"]


def count(argv, env=None, timeout=3600, library=None, at_start=False):
    """Run ``argv`` (a Python command) once under callgrind.

    Returns ``{part: instructions}`` and ``{part: {object file: instructions}}``
    (each library's and the interpreter's own share).

    With ``at_start`` the whole process is counted (no marks needed): the
    result is ``{"process": instructions}, {}``.  ``argv[0]`` must be an
    interpreter binary (:func:`python`), not a wrapper script: valgrind does
    not follow children.  Raises RuntimeError when the process fails.
    """
    folder = tempfile.mkdtemp(prefix="bedboard-callgrind-")
    try:
        environment = dict(env if env is not None else os.environ)
        if library:
            environment[MARKS_ENV] = library
        out = os.path.join(folder, "callgrind.out")
        result = subprocess.run(valgrind_command(out, at_start) + list(argv),
                                env=environment, capture_output=True, text=True,
                                timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError("%s under callgrind exited %d: %s" % (
                " ".join(argv[-2:]), result.returncode,
                (result.stderr.strip().splitlines() or ["?"])[-1][:300]))
        if result.stderr.strip():
            _LOG.warning("%s under callgrind said: %s", " ".join(argv[-2:]),
                         result.stderr.strip()[-2000:])
        if at_start:
            return {"process": whole_process(out)}, {}
        parts, objects = {}, {}
        for path in sorted(glob.glob(out + ".*"), key=lambda p: int(p.rsplit(".", 1)[1])):
            found = read_dump(path)
            if found is not None:
                parts[found[0]], objects[found[0]] = found[1], found[2]
        return parts, objects
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def python():
    """This interpreter, as valgrind can run it: a venv's ``python`` is a symlink to
    the binary (kept as it is: Python finds the venv from it); a wrapper script (a
    pyenv shim) is not, and valgrind would count only the script's shell."""
    return sys.executable
