"""The units, locked down and measured: systemd-analyze security and verify.

Each unit is checked as ``bedboard install`` writes it (ExecStart pointing at
this installation's programs, so that ``verify`` can find them), and its
exposure score is printed and held to its target: the agent needs only the
network, its state and the GPIO chips; the display also the screen, input
and its fonts.
"""

import re
import shutil
import subprocess
import textwrap

import pytest

from .ops_helpers import bedboard

TARGETS = {"bed-agent.service": 2.0, "bed-display.service": 3.0}
CONFIGS = {
    "bed-agent.service": ("agent.yaml", """\
        agent: {id: nrs-icu-unit-1, hospital: nrs, department: icu, ward: unit-1,
                capacity: 16, state_dir: /var/lib/bed-agent}
        inputs:
          - {name: freed, kind: freed, pin: 17}
        """),
    "bed-display.service": ("display.yaml", """\
        display: {id: nrs-lobby-1}
        board: {hospital: nrs}
        """),
}



def _installed(tmp_path, unit):
    assert shutil.which("systemd-analyze"), \
        "systemd-analyze is not installed: run scripts/system-deps"
    name, text = CONFIGS[unit]
    config = tmp_path / name
    config.write_text(textwrap.dedent(text))
    result = bedboard("install", config, "--root", tmp_path / "root")
    assert result.returncode == 0, result.stderr
    return tmp_path / "root" / "etc" / "systemd" / "system" / unit


@pytest.mark.parametrize("unit", sorted(TARGETS))
def test_the_unit_is_locked_down_to_its_target(tmp_path, unit):
    path = _installed(tmp_path, unit)
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(path)],
                            capture_output=True, text=True, timeout=60)
    match = re.search(r"Overall exposure level for %s: (\d+\.\d)" % re.escape(unit),
                      result.stdout)
    assert match, result.stdout + result.stderr
    score = float(match.group(1))
    print("systemd-analyze security --offline=true %s: %.1f (target ≤ %.1f)"
          % (unit, score, TARGETS[unit]))
    assert score <= TARGETS[unit], "\n".join(
        line for line in result.stdout.splitlines() if line.startswith("✗"))


@pytest.mark.parametrize("unit", sorted(TARGETS))
def test_the_unit_verifies_clean(tmp_path, unit):
    path = _installed(tmp_path, unit)
    result = subprocess.run(["systemd-analyze", "verify", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
