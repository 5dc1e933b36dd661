"""The appliance on a Raspberry Pi's architecture: arm64 under qemu-user-static, in ``make system`` only.

The same guide as tests/test_system.py, on an arm64 Debian bookworm root
booted in systemd-nspawn with every arm64 binary emulated: the wheelhouse
holds PyPI's aarch64 wheels (pygame-ce with its SDL, PyYAML, lgpio), and the
broker, the agent and the board all run emulated.  What must hold: the guide
installs and starts everything, a press reaches the broker and the board,
and after a power cycle the units are back with the ledger.  Emulation makes
it slow (the times are printed); it is not part of ``make test``.
"""

import time

import pytest

from .appliance_helpers import boot_hospital, live_at
from .test_system import FULL

pytestmark = [pytest.mark.slow, pytest.mark.timeout(5400),
              pytest.mark.skipif(not FULL, reason="make system only (BEDBOARD_SYSTEM=full)")]


@pytest.fixture(scope="module")
def arm64(tmp_path_factory):
    """The hospital on arm64, brought up by the guide under emulation."""
    hospital = boot_hospital(tmp_path_factory, "aarch64")
    yield hospital
    hospital.close()


def test_arm64_installs_from_its_wheels_runs_and_comes_back_after_a_power_cycle(arm64):
    machine = arm64.machine
    assert machine.run("/opt/bedboard/.venv/bin/python3 -c 'import platform, pygame; "
                       "print(platform.machine())'").stdout.split()[-1] == "aarch64"
    arm64.running_and_enabled()
    mark = time.monotonic()
    assert arm64.press("taken", timeout=120) == \
        "accepted taken: occupied 1/40, vacant 39, seq 1"
    ward, data = arm64.status()
    assert ward is not None and live_at(ward, 1, 1), data
    arm64.board_shows(1, 39, timeout=180)
    arm64.timings["press to board"] = time.monotonic() - mark
    arm64.no_traceback()
    machine.poweroff(timeout=300)
    booted = time.monotonic()
    arm64.timings["power cycle, boot"] = machine.boot(timeout=900)
    arm64.running_and_enabled()
    arm64.started_from_its_ledger(occupied=1, seq=1)
    arm64.board_shows(1, 39, since=booted, timeout=300)
    arm64.timings["power cycle, to the board"] = time.monotonic() - booted
    arm64.no_traceback()
