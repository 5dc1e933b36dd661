"""``bed-display``'s command line: exit codes and messages, per docs/contract.md."""

import os
import subprocess
import sys
import textwrap

import pytest

from .display_helpers import ROOT, display_env


def run(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "display"] + list(args), cwd=ROOT,
                          env=display_env(), capture_output=True, text=True, timeout=timeout)


def write(tmp_path, text):
    path = tmp_path / "board.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_check_accepts_the_demo_config():
    result = run("--config", "config/demo/nrs-lobby.yaml", "--check")
    assert result.returncode == 0, result.stderr
    assert "OK: display nrs-lobby-1, 10 tiles" in result.stdout


def test_a_bad_config_exits_2_naming_every_problem(tmp_path):
    path = write(tmp_path, """\
        display:
          id: nrs-lobby-1
          rotate: 45
        board:
          hospital: NRS
          tiles: [{department: icu, colour: red}]
        broker: {port: 0}
        """)
    result = run("--config", path, "--check")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "board.yaml:3: display.rotate: must be one of 0, 90, 180, 270, got 45",
        "board.yaml:5: board.hospital: hospital must match ^[a-z0-9][a-z0-9-]{0,31}$, "
        "got 'NRS'",
        "board.yaml:6: board.tiles[0].colour: unknown key (a typo?)",
        "board.yaml:7: broker.port: must be between 1 and 65535, got 0",
    ]
    # the same without --check: it never starts
    assert run("--config", path).returncode == 2


def test_a_missing_config_file_exits_2(tmp_path):
    result = run("--config", str(tmp_path / "nowhere.yaml"), "--check")
    assert result.returncode == 2
    assert "nowhere.yaml: cannot read" in result.stderr


@pytest.mark.parametrize("args", [
    [], ["--config", "x.yaml", "--wait", "3"], ["--config", "x.yaml", "--snapshot-every", "1"],
    ["--config", "x.yaml", "--snapshot", "x.png", "--wait", "soon"],
    ["--config", "x.yaml", "--snapshot", "x.png", "--snapshot-every", "0"],
    ["--config", "x.yaml", "--frobnicate"]])
def test_usage_errors_exit_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert "usage: bed-display" in result.stderr


def test_a_bad_broker_override_exits_2():
    result = run("--config", "config/demo/nrs-lobby.yaml", "--broker", "host:port", "--check")
    assert result.returncode == 2
    assert result.stderr.strip() == "--broker: port must be a number, got 'port'"


def test_any_other_failure_exits_1_in_one_line_without_a_traceback(tmp_path):
    result = run("--config", "config/demo/nrs-lobby.yaml", "--broker", "127.0.0.1:9",
                 "--snapshot", str(tmp_path / "no" / "such" / "folder" / "board.png"),
                 "--wait", "0")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("bed-display")]
    assert len(errors) == 1
    assert errors[0].startswith("bed-display: cannot write the snapshot ")
    assert "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "no")
