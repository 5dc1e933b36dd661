"""Every config shipped in config/ passes its own program's --check, and bedboard check's."""

import glob
import os
import subprocess
import sys

import pytest
import yaml

from .ops_helpers import ROOT, bedboard

SHIPPED = sorted(glob.glob(os.path.join(ROOT, "config", "**", "*.yaml"), recursive=True))


def _program(path):
    with open(path, encoding="utf-8") as handle:
        top = yaml.safe_load(handle)
    if "agent" in top:
        return [sys.executable, "-m", "agent", "--config", path, "--check"]
    if "display" in top:
        return [sys.executable, "-m", "display", "--config", path, "--check"]
    assert "operator" in top, "%s is no bedboard config" % path
    return [sys.executable, "-m", "ops", "check", path]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: os.path.relpath(p, ROOT))
def test_a_shipped_config_passes_its_program_s_check(path):
    result = subprocess.run(_program(path), capture_output=True, text=True, cwd=ROOT,
                            timeout=60)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert " OK" in result.stdout


def test_bedboard_check_takes_every_kind_and_a_folder(tmp_path):
    assert len(SHIPPED) > 50
    result = bedboard("check", os.path.join(ROOT, "config"))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(SHIPPED)
    assert "config/examples/operator.yaml: OK: operator (no username)" in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("operator:\n  stale_after: 5\n  colour: red\nbroker: {port: 0}\n")
    result = bedboard("check", bad, tmp_path / "none.yaml")
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["%s: no such file or folder" % (tmp_path / "none.yaml")]
    result = bedboard("check", bad)
    assert result.stderr.splitlines() == [
        "bad.yaml:2: operator.stale_after: must be between 10 and 86400, got 5",
        "bad.yaml:3: operator.colour: unknown key (a typo?)",
        "bad.yaml:4: broker.port: must be between 1 and 65535, got 0"]
