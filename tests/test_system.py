"""The appliance, booted: installed from its wheel by docs/install.md into Debian with systemd as PID 1.

A Debian bookworm root (debootstrap, cached in ~/.cache/bedboard/roots) is
booted in systemd-nspawn on a private network, and the guide's own commands
(tests/guide_steps.py) bring up, on that one machine, a hospital planned
from its inventory (``bedboard plan``): the hospital broker (Debian's
mosquitto with the plan's broker folder), one ward agent and one lobby
display by ``bedboard install BUNDLE`` with bedboard from the wheelhouse,
under the shipped units with the guide's headless drop-ins.  Then, from
inside, what the hospital would see: the units run and stay up, a press on
the agent reaches the broker and the board's frame log, ``bedboard status``
hears the ward live, systemd brings back a frozen board and a killed agent
(the count and seq unchanged), a power cycle brings everything back with
the ledger, and ``systemd-analyze security`` rates the installed units
within their targets.

``make test`` runs this on the machine's own architecture (amd64 here);
``make system`` (BEDBOARD_SYSTEM=full) adds the read-only root of a kiosk,
and tests/test_system_arm64.py the whole of it on arm64 — a Pi's
architecture — under qemu-user-static.  Each prints how long it took.
"""

import os
import re
import time

import pytest

from .appliance_helpers import UNITS, WARD, boot_hospital, live_at

FULL = os.environ.get("BEDBOARD_SYSTEM") == "full"
NATIVE = os.uname().machine
TARGETS = {"bed-agent.service": 2.0, "bed-display.service": 3.0}
QUIET = 30.0            # seconds over which nothing may restart

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


@pytest.fixture(scope="module")
def hospital(tmp_path_factory):
    """The hospital on this machine's architecture (amd64 here), brought up by the guide."""
    booted = boot_hospital(tmp_path_factory, NATIVE)
    yield booted
    booted.close()


def _seconds(timespan):
    """A systemd time span as systemctl shows it ("30s", "1min 30s") in seconds."""
    units = {"min": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+)(min|ms|s)", timespan)
    assert parts, timespan
    return sum(int(n) * units[u] for n, u in parts)


# -- this machine's architecture, in make test ------------------------------

def test_the_guide_leaves_broker_agent_and_board_enabled_and_running(hospital):
    hospital.running_and_enabled()
    hospital.no_traceback()


def test_a_press_on_the_agent_reaches_the_broker_and_the_board(hospital):
    assert hospital.press("taken") == "accepted taken: occupied 1/40, vacant 39, seq 1"
    ward, data = hospital.status()
    assert ward is not None and live_at(ward, 1, 1), data
    hospital.board_shows(1, 39)
    line = next((text for text in hospital.status_text().splitlines()
                 if text.startswith(WARD)), "")
    assert re.search(r"\s40\s+1\s+0\s+39\s+1\s.*live \(heard", line), line


def test_the_installed_units_are_hardened_to_their_targets_inside(hospital):
    for unit, target in TARGETS.items():
        out = hospital.machine.run("systemd-analyze security --no-pager %s" % unit).stdout
        score = re.search(r"Overall exposure level for %s: (\d+\.\d)" % re.escape(unit), out)
        assert score, out
        print("systemd-analyze security %s, booted: %s (target <= %.1f)"
              % (unit, score.group(1), target))
        assert float(score.group(1)) <= target, out


def test_nothing_restarts_or_breaks_for_30_seconds(hospital):
    time.sleep(max(0.0, hospital.up_at + QUIET - time.monotonic()))
    units = hospital.units("NRestarts", "ActiveState")
    for unit in UNITS:
        assert (units[unit]["NRestarts"], units[unit]["ActiveState"]) == ("0", "active"), \
            "%s: %s\n%s" % (unit, units[unit], hospital.journal(unit)[-3000:])
    hospital.no_traceback()


def test_a_frozen_board_and_a_killed_agent_are_brought_back_by_systemd(hospital):
    before, _ = hospital.status()
    watchdog = _seconds(hospital.machine.show("bed-display", "WatchdogUSec"))
    pids = {unit: int(hospital.machine.show(unit, "MainPID")) for unit in UNITS}
    hospital.machine.run("kill -STOP %d && kill -KILL %d" % (
        pids["bed-display.service"], pids["bed-agent.service"]))
    stopped = time.monotonic()
    hospital.wait_active("bed-agent.service", timeout=30, not_pid=pids["bed-agent.service"])
    hospital.wait_active("bed-display.service", timeout=watchdog + 10,
                         not_pid=pids["bed-display.service"])
    took = time.monotonic() - stopped
    print("frozen board restarted by its watchdog after %.1f s (WatchdogSec=%.0f)"
          % (took, watchdog))
    assert took <= watchdog + 10
    assert "Watchdog timeout" in hospital.journal("bed-display")
    units = hospital.units("NRestarts")
    assert [units[u]["NRestarts"] for u in UNITS] == ["1", "1"], units
    hospital.started_from_its_ledger(occupied=1, seq=1)
    after, data = hospital.status()
    assert after is not None and live_at(after, before["occupied"], before["seq"]), data
    hospital.board_shows(1, 39, since=stopped)
    hospital.no_traceback()


def test_a_power_cycle_brings_everything_back_with_the_ledger(hospital):
    hospital.machine.poweroff()
    booted = time.monotonic()
    hospital.machine.boot()
    hospital.running_and_enabled()
    hospital.started_from_its_ledger(occupied=1, seq=1)
    ward, data = hospital.status()
    assert ward is not None and live_at(ward, 1, 1), data
    hospital.board_shows(1, 39, since=booted)
    assert hospital.press("taken") == "accepted taken: occupied 2/40, vacant 38, seq 2"
    hospital.board_shows(2, 38)
    hospital.no_traceback()


@pytest.mark.skipif(not FULL, reason="make system only (BEDBOARD_SYSTEM=full)")
def test_a_kiosk_with_a_volatile_root_keeps_the_ledger_on_its_own_storage(hospital, tmp_path):
    # docs/install.md, "A read-only root": the root read-only with its writes in
    # memory, /var/lib/bed-agent on storage of its own mounted by /etc/fstab.  Here
    # the storage is a host folder the machine gets at /persist (its "partition"),
    # and the volatile root is systemd-nspawn --volatile=overlay.
    machine = hospital.machine
    ward, data = hospital.status()
    assert ward is not None, data
    occupied, seq = ward["occupied"], ward["seq"]
    disk = [(str(tmp_path / "persist"), "/persist")]
    os.makedirs(disk[0][0])
    machine.poweroff()
    machine.boot(binds=disk)
    machine.run("systemctl stop bed-agent && mkdir /persist/bed-agent && "
                "cp -a /var/lib/bed-agent/. /persist/bed-agent/ && "
                "echo '/persist/bed-agent /var/lib/bed-agent none bind 0 0' >> /etc/fstab")
    machine.poweroff()
    for boot in (1, 2):
        booted = time.monotonic()
        machine.boot(volatile=True, binds=disk)
        assert machine.run("findmnt -n -o FSTYPE /").stdout.strip() == "overlay"
        assert machine.run("findmnt -n -o SOURCE /var/lib/bed-agent").stdout.strip() \
            .endswith("/bed-agent]")
        hospital.running_and_enabled()
        hospital.started_from_its_ledger(occupied=occupied, seq=seq)
        hospital.board_shows(occupied, 40 - occupied, since=booted)
        if boot == 1:
            occupied, seq = occupied + 1, seq + 1
            assert hospital.press("taken") == "accepted taken: occupied %d/40, vacant %d, " \
                "seq %d" % (occupied, 40 - occupied, seq)
            machine.run("touch /etc/written-in-memory")
            hospital.no_traceback()
            machine.poweroff()
        else:
            assert machine.run("test -e /etc/written-in-memory", check=False).returncode == 1
            ward, data = hospital.status()
            assert ward is not None and live_at(ward, occupied, seq), data
            hospital.no_traceback()
