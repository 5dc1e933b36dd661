"""A Raspberry Pi's time for an x86-64 instruction count: the cores assumed, and how sure that is.

Nobody can run a Pi here, so a figure counted in instructions on x86-64
(:mod:`benchmarks.callgrind`) is projected::

    seconds = x86-64 instructions × (AArch64 instructions per x86-64 one)
              ÷ (clock × AArch64 instructions per cycle)

**Instructions per cycle (IPC) assumed for interpreted Python** (CPython's
eval loop: branchy, indirect jumps, pointer chasing; plus SDL's pixel loops
and FreeType), not measured here — no Pi, and these VMs have no counters:

* **Raspberry Pi 4, Cortex-A72 at 1.5 GHz: 0.8** (0.6 to 1.0).  Published
  SPEC CPU2006 integer results of A72 phones come to ~0.4× a Skylake core's
  score per GHz, and a Skylake-class core runs CPython at ~2 instructions a
  cycle; the Pi 4's BCM2711 adds a small memory system (1 MB L2 shared by
  four cores, no L3, LPDDR4), so the central figure is the lower side.
* **Raspberry Pi 5, Cortex-A76 at 2.4 GHz: 1.3** (1.0 to 1.6).  The same
  published SPEC results put the A76 ~1.6× the A72 per GHz (4-wide, a far
  better branch predictor, 512 KB L2 a core and a 2 MB L3 on the BCM2712);
  with the 1.6× clock that is the "2–3× a Pi 4" Raspberry Pi Ltd states.

They are from published figures remembered, not measured: take a
projection as ±30 %.  The "pessimistic" projection uses the low IPC and the
high instruction ratio; a target met only at the central figure is said so.

**AArch64 instructions per x86-64 instruction** for the same Python code,
measured (``python -m benchmarks.calibrate``, kept in
``benchmarks/arm64-calibration.json``, which :func:`arm_ratio` reads): three
pieces of the board's Python work counted with this venv's interpreter
(callgrind), Debian's python3.11 on amd64 and Debian's python3.11 on arm64
(qemu with a counting plugin; qemu and callgrind agree to 0.02 % on the
same amd64 process).  The instruction set costs little: Debian's arm64
build executes 1.02–1.05× the instructions of Debian's amd64 build.  The
build costs more: Debian's python3.11 (3.11.2, the interpreter linked into
the executable, built Debian's way) executes 0.82–0.92× the instructions
of the pyenv 3.11.7 build ``make bench`` runs (a shared, position-independent
libpython).  Net: a Pi's Python executes ~0.89× (0.83–0.97×) the x86-64
instructions counted here, so the count is a fair, slightly pessimistic
proxy.  Pixel work (SDL's SSE/AVX loops against NEON) is not calibrated:
it is a small share of the figures judged (see each figure's shares).
Without the calibration file, 1.0 (0.85 to 1.2) is assumed.

Also not in an instruction count: memory bandwidth (a Pi 4's LPDDR4 moves
a 4K frame's 33 MB in ~8 ms: pixel-heavy figures are bound by it more than
by instructions), the kernel's work (system calls, fsync, the network), and
what the screen costs to show (SDL's dummy driver shows nothing; on a Pi,
KMSDRM shows the frame through the GPU).
"""

import json
import logging
import os
from dataclasses import dataclass

_LOG = logging.getLogger(__name__)

HERE = os.path.dirname(os.path.abspath(__file__))
CALIBRATION = os.path.join(HERE, "arm64-calibration.json")

ARM_PER_X86 = 1.0             # assumed when there is no calibration file
ARM_PER_X86_RANGE = (0.85, 1.2)


@dataclass(frozen=True)
class Core:
    """A Raspberry Pi's core as the projection sees it."""

    board: str          # "Raspberry Pi 4"
    name: str           # "Cortex-A72"
    hz: float
    ipc: float          # AArch64 instructions per cycle, interpreted Python
    low: float          # the pessimistic end of the assumption
    high: float

    def label(self):
        """``Pi 4 (Cortex-A72, 1.5 GHz)``."""
        return "%s (%s, %.1f GHz)" % (self.board.replace("Raspberry ", ""), self.name,
                                       self.hz / 1e9)


PI4 = Core("Raspberry Pi 4", "Cortex-A72", 1.5e9, ipc=0.8, low=0.6, high=1.0)
PI5 = Core("Raspberry Pi 5", "Cortex-A76", 2.4e9, ipc=1.3, low=1.0, high=1.6)
CORES = (PI4, PI5)


def arm_ratio(path=CALIBRATION):
    """``(AArch64 per x86-64 instruction, (low, high), where it comes from)``."""
    try:
        with open(path, encoding="utf-8") as handle:
            found = json.load(handle)
        ratio = float(found["ratio"])
        low, high = (float(x) for x in found["range"])
        return ratio, (low, high), "calibrated: %s" % found.get("how", path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _LOG.warning("%s unreadable (%s): the assumed ratio is used", path, exc)
    return ARM_PER_X86, ARM_PER_X86_RANGE, "assumed, not calibrated"


def seconds(instructions, core, ratio=ARM_PER_X86, ipc=None):
    """Seconds ``instructions`` (x86-64) take on ``core`` at ``ipc`` (its central one)."""
    return instructions * ratio / (core.hz * (core.ipc if ipc is None else ipc))


def pessimistic(instructions, core, ratio_range=ARM_PER_X86_RANGE):
    """Seconds at the low IPC and the high instruction ratio."""
    return seconds(instructions, core, ratio_range[1], core.low)
