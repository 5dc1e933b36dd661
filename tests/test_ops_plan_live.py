"""A hospital planned from its inventory comes up: a real Mosquitto, a panel and a board over TLS.

The technician's way, end to end on this machine: ``bedboard plan`` of an
inventory whose broker is 127.0.0.1 on a free port; the broker folder
installed where its bedboard.conf says (``--etc``) and Mosquitto started
from that very conf; a ward panel and a lobby board installed from their
bundles into ``--root`` trees and run from what was installed there (the
test's own copy of each config points /etc/bedboard into its tree, since
the programs are not in a chroot); then ``bedboard status --inventory``
with the operator's config plan wrote.  The panel's press is drawn live by
the board, the ward is live in status, and the two wards whose panels were
never installed are named as never heard.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

from bedboard.mosquitto import PrivateBroker, free_port

from .ops_helpers import ROOT, bedboard
from .plan_helpers import write_inventory


def _installed_copy(root, name, work):
    """The config installed under ``root``, its /etc/bedboard and state in ``root``."""
    with open(os.path.join(str(root), "etc", "bedboard", name), encoding="utf-8") as handle:
        text = handle.read()
    text = text.replace("/etc/bedboard/", os.path.join(str(root), "etc", "bedboard") + "/")
    text = text.replace("/var/lib/bed-agent", os.path.join(str(root), "var", "lib",
                                                           "bed-agent"))
    path = os.path.join(str(work), name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _frames(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.endswith("\n")]
    except FileNotFoundError:
        return []


def _wait_for_tile(path, name, occupied, process, timeout=30, checking=False):
    """The first frame whose tile ``name`` is live with ``occupied`` beds (``checking``:
    or shown as a copy not yet proven live — a board that subscribes after the panel's
    first publication gets the broker's copy, proven by the panel's next beat)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in _frames(path):
            for tile in frame["tiles"]:
                if tile["tile"] == name and tile["occupied"] == occupied and (
                        tile["live"] or checking and tile["status"] == "checking"):
                    return tile
        assert process.poll() is None, "the board stopped"
        time.sleep(0.2)
    raise AssertionError("no live frame of %s with %d occupied; last: %s" % (
        name, occupied, (_frames(path) or [None])[-1]))


def _press(agent, command):
    agent.stdin.write(command + "\n")
    agent.stdin.flush()
    return agent.stdout.readline().strip()


def test_a_planned_hospital_comes_up_over_tls_and_status_names_what_did_not(tmp_path):
    tls, plain = free_port(), free_port()
    inventory = write_inventory(tmp_path, host="127.0.0.1", port=tls)
    out, etc, data = tmp_path / "plan", tmp_path / "etc-mosquitto", tmp_path / "data"
    result = bedboard("plan", inventory, "--out", out, "--plain-port", plain,
                      "--tls-listen", "127.0.0.1", "--etc", etc, "--data-dir", data,
                      "--include-dir", "none")
    assert result.returncode == 0, result.stderr
    # the broker folder installed as the guide says, Mosquitto run from its conf
    etc.mkdir()
    data.mkdir()
    for name in ("acl", "passwd", "ca.crt", "server.crt", "server.key"):
        shutil.copy(out / "broker" / name, etc / name)
    broker = PrivateBroker(port=plain, workdir=str(tmp_path / "broker"),
                           config_file=str(out / "broker" / "bedboard.conf")).start()
    agent = board = None
    try:
        # a ward panel and a lobby board, each from its bundle
        panel_root, board_root = tmp_path / "panel-pi", tmp_path / "lobby-pi"
        for bundle, root in (("sskm-icu-unit-1", panel_root), ("sskm-lobby-1", board_root)):
            installed = bedboard("install", out / "bundles" / (bundle + ".tar.gz"),
                                 "--root", root)
            assert installed.returncode == 0, installed.stderr
        env = dict(os.environ, SDL_VIDEODRIVER="dummy", PYTHONUNBUFFERED="1")
        with open(tmp_path / "agent.log", "w", encoding="utf-8") as log:
            agent = subprocess.Popen(  # pylint: disable=consider-using-with
                [sys.executable, "-m", "agent", "--config",
                 _installed_copy(panel_root, "agent.yaml", tmp_path), "--simulate"],
                cwd=ROOT, env=env, text=True, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log)
        frames, picture = tmp_path / "frames.jsonl", tmp_path / "board.png"
        with open(tmp_path / "board.log", "w", encoding="utf-8") as log:
            board = subprocess.Popen(  # pylint: disable=consider-using-with
                [sys.executable, "-m", "display", "--config",
                 _installed_copy(board_root, "display.yaml", tmp_path), "--snapshot",
                 str(picture), "--snapshot-every", "1", "--frame-log", str(frames)],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        # the inventory's count on the board (live, or checking if the board came up
        # after the panel's first publication), then a press: progress, drawn live
        _wait_for_tile(frames, "sskm/icu", 9, board, checking=True)
        assert _press(agent, "press taken") == \
            "accepted taken: occupied 10/12, vacant 2, seq 1"
        tile = _wait_for_tile(frames, "sskm/icu", 10, board)
        assert (tile["vacant"], tile["capacity"], tile["status"]) == (2, 12, "few-left")
        with open(tmp_path / "agent.log", encoding="utf-8") as handle:
            assert "127.0.0.1:%d" % tls in handle.read()
        # status with the inventory: the ward that came up is live, the others never heard
        operator = out / "operators" / "tech-sen.yaml"
        status = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "ops", "status", "--config", str(operator),
             "--inventory", inventory, "--listen", "6", "--json"],
            cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # live presses while it listens (its start may be slow on a loaded machine: a
        # second pair later, so one live message falls in its window either way)
        time.sleep(1)
        assert _press(agent, "press freed").startswith("accepted freed: occupied 9/12")
        time.sleep(2.5)
        assert _press(agent, "press taken").startswith("accepted taken: occupied 10/12")
        assert _press(agent, "press freed").startswith("accepted freed: occupied 9/12")
        said, errors = status.communicate(timeout=30)
        assert status.returncode == 0, errors
        report = json.loads(said)
        wards = {w["ward"]: (w["heard"], w["occupied"]) for w in report["wards"]}
        assert wards == {"sskm/icu/unit-1": ("live", 9),
                         "sskm/medicine/male": ("never", None),
                         "sskm/medicine/female": ("never", None)}
        devices = {d["id"]: d["status"] for d in report["devices"]}
        assert devices["sskm-icu-unit-1"] == "online"
        assert devices["sskm-lobby-1"] == "online"
        assert devices["sskm-medicine-male"] == devices["sskm-medicine-female"] == \
            "no status"
        told = bedboard("status", "--config", operator, "--inventory", inventory,
                        "--listen", "0.5")
        assert told.returncode == 0, told.stderr
        assert "Never heard: sskm-medicine-female, sskm-medicine-male (2 device(s) that " \
               "have not come up)." in told.stdout, told.stdout
        assert "sskm/medicine/male" in told.stdout and "NOT REPORTING" in told.stdout
    finally:
        if agent is not None:
            agent.stdin.close()
            agent.wait(30)
            agent.stdout.close()
        if board is not None:
            board.send_signal(signal.SIGTERM)
            board.wait(30)
        broker.close()
    assert board.returncode == 0
    assert picture.stat().st_size > 1000
