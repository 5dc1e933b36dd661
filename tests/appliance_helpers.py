"""The hospital of docs/install.md on a booted machine: brought up by the guide, looked at as a technician would.

:func:`bring_up` writes the hospital's inventory a technician keeps in
``~/sskm.yaml`` (one ward, one lobby board), puts the wheelhouse where the
guide's ``scp`` would, and runs the guide's sections — the plan, the broker
from it, the headless drop-ins, the ward panel and the lobby display from
their bundles — inside the machine, in that order, each in its own folder
as on its own Pi.  The broker, the agent and
the board share this one machine (and its loopback network).

:class:`Hospital` then looks at it from inside: the units' states, the
journal, the agent's own log of each press, ``bedboard status --json`` (what
the broker holds) and the board's frame log (what the screen shows).
"""

import json
import os
import re
import shutil
import textwrap
import time

import pytest

from .guide_steps import debian_packages, section_scripts
from .system_helpers import DEBIAN_ARCH, Machine, debian_root, wheelhouse

WARD = "sskm/medicine/female"
AGENT_ID, DISPLAY_ID = "sskm-medicine-female", "sskm-lobby-1"
BIN = "/opt/bedboard/.venv/bin"
FRAMES = "/var/cache/bed-display/frames.jsonl"
SIMULATE = "/run/bed-agent/simulate"
UNITS = ("bed-agent.service", "bed-display.service")
SECTIONS = (("The plan", "/root"),
            ("The hospital broker", "/root"),
            ("Without a screen or buttons: containers and tests", "/root"),
            ("A ward panel", "/root/ward"),
            ("A lobby display", "/root/lobby"))
HEARTBEAT = 5      # the agents', so that bedboard status hears one live within seconds
CAPACITY = 40      # the ward's beds; it starts with none occupied
OPERATOR = "/root/sskm-plan/operators/tech-sen.yaml"   # as plan writes it, where the plan is

# The technician's one file (docs/install.md, "Bringing up a hospital", step 1):
# the guide's own names (the bundles sskm-medicine-female and sskm-lobby-1), a
# ward with two buttons, a board with its tile, and the guide's operators.
INVENTORY = """\
    hospital: {id: sskm, name: {en: "SSKM Hospital", bn: "এসএসকেএম হাসপাতাল"}}
    broker: {host: broker.sskm.lan}
    heartbeat: %d
    departments:
      - id: medicine
        label: {en: Medicine, bn: মেডিসিন}
        wards:
          - {id: female, capacity: 40, label: {en: Female, bn: মহিলা},
             panel: {buttons: {freed: 17, taken: 27}}}
    boards:
      - {id: sskm-lobby-1, tiles: [{department: medicine, wards: [female]}]}
    operators: [sister-das, tech-sen]
    """ % HEARTBEAT


def bring_up(machine, house, arch, timings):
    """Run the guide's sections on the booted ``machine``; their times go into ``timings``."""
    with open(machine.path("/root/sskm.yaml"), "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent(INVENTORY))
    for folder in ("/root", "/root/ward", "/root/lobby"):      # where scp -r puts it
        shutil.copytree(house, machine.path("%s/wheelhouse-%s" % (folder, arch)))
    # The hospital's DNS names the broker; here it is this machine.
    machine.run("echo '127.0.0.1 broker.sskm.lan' >> /etc/hosts")
    for heading, folder in SECTIONS:
        started = time.monotonic()
        for number, script in enumerate(section_scripts(heading), 1):
            done = machine.run("mkdir -p %s && cd %s && bash -s" % (folder, folder),
                               stdin=script, check=False, timeout=900)
            assert done.returncode == 0, "docs/install.md, '%s', block %d, failed:\n%s\n%s" % (
                heading, number, done.stdout[-5000:], done.stderr[-6000:])
        timings[heading] = time.monotonic() - started


def boot_hospital(tmp_path_factory, arch):
    """A machine for ``arch`` booted and brought up by the guide: a :class:`Hospital`."""
    if os.geteuid() != 0:
        pytest.fail("booting a machine needs root (mount, systemd-nspawn, nsenter)")
    for tool in ("debootstrap", "systemd-nspawn", "nsenter"):
        assert shutil.which(tool), "%s is missing: run scripts/system-deps --system" % tool
    started = time.monotonic()
    lower, built = debian_root(arch, debian_packages([h for h, _ in SECTIONS]))
    timings = {"root (built)" if built else "root (cached)": time.monotonic() - started}
    folder = tmp_path_factory.mktemp("system-%s" % arch)
    mark = time.monotonic()
    house = wheelhouse(str(folder / "wheelhouse"), arch)
    timings["wheelhouse"] = time.monotonic() - mark
    machine = Machine(lower, str(folder / "machine"),
                      "bedboard-%s-%d" % (DEBIAN_ARCH[arch], os.getpid()))
    try:
        timings["boot"] = machine.boot()
        bring_up(machine, house, arch, timings)
    except BaseException:
        machine.close()
        raise
    return Hospital(machine, arch, timings, started)


def live_at(ward, occupied, seq):
    """Whether ``bedboard status --json``'s ``ward`` is heard live at these figures."""
    return (ward["occupied"], ward["vacant"], ward["seq"], ward["heard"]) == (
        occupied, CAPACITY - occupied, seq, "live")


class Hospital:
    """The booted machine with the guide run on it; see the module docstring."""

    def __init__(self, machine, arch, timings, started):
        self.machine = machine
        self.arch = arch
        self.timings = timings          # what took how long, printed by close()
        self.started = started
        self.up_at = time.monotonic()

    def close(self):
        """Power the machine off and remove it; print the timings."""
        try:
            self.machine.close()
        finally:
            self.timings["in all"] = time.monotonic() - self.started
            print("\n%s booted system: %s" % (self.arch, ", ".join(
                "%s %.0f s" % item for item in self.timings.items())))

    # -- what must hold ---------------------------------------------------------------
    def running_and_enabled(self):
        """Both units enabled and active (running), and the broker active."""
        units = self.units("ActiveState", "SubState", "UnitFileState")
        for unit in UNITS:
            assert (units[unit]["ActiveState"], units[unit]["SubState"],
                    units[unit]["UnitFileState"]) == ("active", "running", "enabled"), \
                "%s: %s\n%s" % (unit, units[unit], self.journal(unit)[-3000:])
        assert units["mosquitto.service"]["ActiveState"] == "active", \
            self.journal("mosquitto")[-3000:]

    def no_traceback(self, boot="0"):
        """No Traceback in the journal of the agent, the board or the broker."""
        journal = self.journal("bed-agent", "bed-display", "mosquitto", boot=boot)
        assert "Traceback" not in journal, journal[-6000:]

    def started_from_its_ledger(self, occupied, seq):
        """The agent's latest start read its count from its own ledger (not the broker)."""
        journal = self.journal("bed-agent").split("Starting bed-agent.service")[-1]
        assert "no ledger in" not in journal, journal[-3000:]
        line = "ward %s: occupied %d/%d, vacant %d, seq %d (ledger /var/lib/bed-agent/" % (
            WARD, occupied, CAPACITY, CAPACITY - occupied, seq)
        assert line in journal, journal[-3000:]

    # -- looking ----------------------------------------------------------------------

    def units(self, *props):
        """{unit: {prop: value}} for the two bedboard units (and mosquitto)."""
        found = {}
        for unit in UNITS + ("mosquitto.service",):
            out = self.machine.run("systemctl show %s %s" % (
                unit, " ".join("-p " + p for p in props))).stdout
            found[unit] = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return found

    def journal(self, *units, boot="0"):
        """The journal of ``units`` in this boot (``boot="all"``: every boot)."""
        which = "" if boot == "all" else "-b %s" % boot
        return self.machine.run("journalctl --no-pager -o short-monotonic %s %s" % (
            which, " ".join("-u " + u for u in units))).stdout

    def press(self, name, timeout=30):
        """Press input ``name`` on the agent's mock pins; the agent's answer."""
        mark = self.machine.run("journalctl -u bed-agent -n 0 --show-cursor --no-pager "
                                "| sed -n 's/^-- cursor: //p'").stdout.strip()
        # As docs/install.md says: echo 'press taken' | sudo tee /run/bed-agent/simulate
        self.machine.run("echo 'press %s' | sudo tee %s" % (name, SIMULATE))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.machine.run("journalctl -u bed-agent --no-pager -o cat "
                                   "--after-cursor '%s'" % mark).stdout
            answer = re.search(r"^((?:accepted|refused|ignored|error)[^\n]*)$", out,
                               re.MULTILINE)
            if answer:
                return answer.group(1)
            time.sleep(0.2)
        raise AssertionError("no answer to 'press %s' within %d s:\n%s" % (
            name, timeout, self.journal("bed-agent")[-3000:]))

    def status(self, listen=HEARTBEAT + 2):
        """``bedboard status --json`` as the operator: the ward's entry, and all of it."""
        out = self.machine.run("%s/bedboard status --config %s --json "
                               "--listen %d" % (BIN, OPERATOR, listen), timeout=120).stdout
        data = json.loads(out)
        ward = next((w for w in data["wards"] if w["ward"] == WARD), None)
        return ward, data

    def status_text(self, listen=HEARTBEAT + 2):
        """``bedboard status`` as a technician reads it."""
        return self.machine.run("%s/bedboard status --config %s "
                                "--listen %d" % (BIN, OPERATOR, listen), timeout=120).stdout

    def frames(self):
        """The board's frame log: one dict a frame that said something new."""
        out = self.machine.run("cat %s 2>/dev/null || true" % FRAMES).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def board_shows(self, occupied, vacant, since=0.0, timeout=30):
        """Wait until the board's latest frame shows the ward live at these figures.

        Only frames drawn after ``since`` (``time.monotonic()``: the container
        shares the host's monotonic clock, which the frame log's ``t`` is) count.
        """
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            frames = [f for f in self.frames() if f["t"] >= since]
            if frames:
                last = frames[-1]
                tile = last["tiles"][0]
                if last["connected"] and tile["live"] and \
                        (tile["occupied"], tile["vacant"]) == (occupied, vacant):
                    return last
            time.sleep(0.25)
        raise AssertionError("the board never showed %d occupied, %d vacant live; its "
                             "last frame: %s" % (occupied, vacant, last))

    def wait_active(self, unit, timeout=60, not_pid=None):
        """Wait until ``unit`` is active (running) — under a PID other than ``not_pid``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.units("ActiveState", "SubState", "MainPID")[unit]
            if (state["ActiveState"], state["SubState"]) == ("active", "running") and \
                    state["MainPID"] not in ("0", str(not_pid)):
                return int(state["MainPID"])
            time.sleep(0.2)
        raise AssertionError("%s not active (running) again within %d s: %s\n%s" % (
            unit, timeout, state, self.journal(unit)[-3000:]))
