"""A Raspberry Pi's time for an x86-64 instruction count: the cores assumed, and how sure that is.

Nobody can run a Pi here, so a figure counted in instructions on x86-64
(:mod:`benchmarks.callgrind`) is projected::

    seconds = x86-64 instructions × (AArch64 instructions per x86-64 one)
              ÷ (clock × AArch64 instructions per cycle)

**Instructions per cycle (IPC) assumed for interpreted Python** (CPython's
eval loop: branchy, indirect jumps, pointer chasing; plus SDL's pixel loops
and FreeType), not measured here — no Pi, and these VMs have no counters:

* **Raspberry Pi 4, Cortex-A72 at 1.5 GHz: 1.0** (0.7 to 1.3).  The A72 is
  3-wide with a ~15-cycle mispredict penalty; published SPEC CPU2006 integer
  runs put A72-class cores near 1 instruction per cycle on average, and
  interpreters (perlbench, and CPython's own loop) sit near that average.
* **Raspberry Pi 5, Cortex-A76 at 2.4 GHz: 1.6** (1.2 to 2.0).  Arm's
  figures put the A76 some 1.5–1.7× the A72 per clock on integer code
  (4-wide, a far better branch predictor); Raspberry Pi Ltd's "2–3× a Pi 4"
  for the Pi 5 over a 1.6× clock step says the same.

They are from published figures remembered, not measured: take a
projection as ±30 %.  The "pessimistic" projection uses the low IPC and the
high instruction ratio; a target met only at the central figure is said so.

**AArch64 instructions per x86-64 instruction** for the same Python code:
AArch64 is load/store (no memory operands) but has twice the registers;
for CPython's loop it is expected to take somewhat more instructions.
Uncalibrated, 1.15 is assumed (1.0 to 1.3); :func:`arm_ratio` takes the
calibrated figure from ``benchmarks/arm64-calibration.json`` when one was
measured (:mod:`benchmarks.calibrate`: the same Python snippets counted on
amd64 by callgrind and on arm64 under qemu-user by a counting plugin).

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

ARM_PER_X86 = 1.15            # assumed until calibrated
ARM_PER_X86_RANGE = (1.0, 1.3)


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


PI4 = Core("Raspberry Pi 4", "Cortex-A72", 1.5e9, ipc=1.0, low=0.7, high=1.3)
PI5 = Core("Raspberry Pi 5", "Cortex-A76", 2.4e9, ipc=1.6, low=1.2, high=2.0)
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
