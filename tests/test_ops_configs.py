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
    assert "operator" in top or "hospital" in top or "hospitals" in top, (
        "%s is no bedboard config" % path)    # an operator's config, or an inventory
    return [sys.executable, "-m", "ops", "check", path]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: os.path.relpath(p, ROOT))
def test_a_shipped_config_passes_its_program_s_check(path):
    result = subprocess.run(_program(path), capture_output=True, text=True, cwd=ROOT,
                            timeout=60)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert " OK" in result.stdout


def test_bedboard_check_takes_every_kind_and_a_folder(tmp_path):
    assert len(SHIPPED) > 50
    demo = bedboard("check", os.path.join(ROOT, "config", "demo"))
    assert demo.returncode == 0, demo.stderr
    examples = bedboard("check", os.path.join(ROOT, "config", "examples"))
    assert examples.returncode == 0, examples.stderr
    inventory = bedboard("check", os.path.join(ROOT, "config", "demo-hospitals.yaml"))
    assert inventory.stdout == ("%s: OK: inventory of cmc, sskm, rgkar, nrs, nmc (52 "
                                "ward(s), 3 board(s), 1 operator(s))\n" % os.path.join(
                                    ROOT, "config", "demo-hospitals.yaml"))
    assert len(demo.stdout.splitlines() + examples.stdout.splitlines()
               + inventory.stdout.splitlines()) == len(SHIPPED)
    assert "config/examples/operator.yaml: OK: operator (no username)" in examples.stdout
    # the two sets together are not one hospital's: the example's lobby is the demo's
    both = bedboard("check", os.path.join(ROOT, "config"))
    assert (both.returncode, both.stderr) == (
        2, "display.yaml:16: display.id: nrs-lobby-1 is also the id of the display in "
           "nrs-lobby.yaml\n")
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


def test_check_fits_its_place_and_finds_duplicates_across_configs(tmp_path):
    # finding 12: README-style configs failed on the broker machine (secret and CA paths
    # exist only on the Pis), while two configs with one id both passed
    from .ops_helpers import write_agent
    folder = tmp_path / "nrs"
    folder.mkdir()
    for ident, ward in (("nrs-icu-unit-1", "nrs/icu/unit-1"),
                        ("nrs-hdu-unit-1", "nrs/hdu/unit-1")):
        path = write_agent(folder, ident, ward, 8883)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("  username: %s\n  password_file: /etc/bedboard/secret\n"
                         "  tls: {ca: /etc/bedboard/tls/ca.crt}\n" % ident)
    broker = bedboard("check", "--role", "broker", folder)
    assert broker.returncode == 0, broker.stderr
    assert broker.stdout.splitlines()[-1].startswith(
        "(the files the configs name are on the devices and were not looked for here")
    device = bedboard("check", "--role", "device", folder / "nrs-icu-unit-1.yaml")
    assert device.returncode == 2
    assert device.stderr.splitlines() == [
        "nrs-icu-unit-1.yaml:17: broker.password_file: cannot read /etc/bedboard/secret: "
        "No such file or directory",
        "nrs-icu-unit-1.yaml:18: broker.tls.ca: no such file: /etc/bedboard/tls/ca.crt"]
    twin = folder / "twin.yaml"
    twin.write_text((folder / "nrs-hdu-unit-1.yaml").read_text().replace(
        "nrs-hdu-unit-1", "nrs-icu-unit-1").replace("ward: unit-1", "ward: unit-2"))
    result = bedboard("check", folder)
    assert (result.returncode, result.stderr) == (
        2, "twin.yaml:2: agent.id: nrs-icu-unit-1 is also the id of the agent in "
           "nrs-icu-unit-1.yaml\n")
