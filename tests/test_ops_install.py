"""bedboard install --root: a ward panel's and a lobby display's tree, the same after two runs."""

import hashlib
import os
import sys
import textwrap

from .ops_helpers import bedboard

AGENT = """\
    agent: {id: nrs-icu-unit-1, hospital: nrs, department: icu, ward: unit-1,
            capacity: 16, state_dir: /var/lib/bed-agent}
    broker: {host: broker.nrs.local, port: 8883, username: nrs-icu-unit-1,
             password_file: /etc/bedboard/secret, tls: {ca: /etc/bedboard/tls/ca.crt}}
    inputs:
      - {name: freed, kind: freed, pin: 17}
    """
DISPLAY = """\
    display: {id: nrs-lobby-1}
    board: {hospital: nrs}
    broker: {host: broker.nrs.local, port: 8883, username: nrs-lobby-1,
             password_file: /etc/bedboard/secret, tls: {ca: /etc/bedboard/tls/ca.crt}}
    """
CMDLINE = "console=serial0,115200 console=tty1 root=PARTUUID=3c4a-02 rootwait " \
          "consoleblank=600\n"


def _files(tmp_path, text, name):
    config = tmp_path / name
    config.write_text(textwrap.dedent(text), encoding="utf-8")
    (tmp_path / "secret").write_text("s3cret\n")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    return config, ["--secret", tmp_path / "secret", "--ca", tmp_path / "ca.crt"]


def _tree(root):
    """Every path under ``root`` with its mode and content (or link target)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            if os.path.islink(path):
                what = "-> " + os.readlink(path)
            elif os.path.isdir(path):
                what = "dir"
            else:
                with open(path, "rb") as handle:
                    what = hashlib.sha256(handle.read()).hexdigest()[:16]
            found[os.path.relpath(path, root)] = (oct(info.st_mode & 0o7777), what)
    return found


def test_a_ward_panel_installed_twice_is_the_same_tree(tmp_path):
    config, given = _files(tmp_path, AGENT, "agent.yaml")
    root = tmp_path / "root"
    first = bedboard("install", config, "--root", root, *given)
    assert first.returncode == 0, first.stderr
    tree = _tree(root)
    assert tree["etc/bedboard/agent.yaml"][0] == "0o644"
    assert tree["etc/bedboard/secret"][0] == "0o600"
    assert tree["etc/bedboard/tls/ca.crt"][0] == "0o644"
    assert tree["etc/systemd/system/multi-user.target.wants/bed-agent.service"] == (
        "0o777", "-> /etc/systemd/system/bed-agent.service")
    assert (root / "etc/bedboard/agent.yaml").read_text() == config.read_text()
    assert (root / "etc/bedboard/secret").read_text() == "s3cret\n"
    unit = (root / "etc/systemd/system/bed-agent.service").read_text()
    executable = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    assert executable == ["ExecStart=%s/bin/bed-agent --config /etc/bedboard/agent.yaml"
                          % sys.prefix]
    assert "  skipped    service user bedboard (system, no home, no login): needs the " \
           "running system, not --root" in first.stdout
    assert "  done       /etc/bedboard/secret (mode 600)" in first.stdout
    second = bedboard("install", config, "--root", root, *given)
    assert second.returncode == 0, second.stderr
    assert _tree(root) == tree
    lines = second.stdout.splitlines()
    assert lines[-1] == "0 step(s) changed something: already installed"
    assert all(line.startswith(("  unchanged", "  skipped")) for line in lines[1:-1])


def test_a_lobby_display_gets_its_unit_and_no_console_blanking(tmp_path):
    config, given = _files(tmp_path, DISPLAY, "display.yaml")
    root = tmp_path / "root"
    (root / "boot" / "firmware").mkdir(parents=True)
    (root / "boot" / "firmware" / "cmdline.txt").write_text(CMDLINE)
    # a dry run says what it would do and changes nothing
    dry = bedboard("install", config, "--root", root, "--dry-run", *given)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[0].startswith("would install display nrs-lobby-1 from ")
    assert "  would do   /etc/systemd/system/bed-display.service (mode 644)" in dry.stdout
    assert sorted(_tree(root)) == ["boot", "boot/firmware", "boot/firmware/cmdline.txt"]
    first = bedboard("install", config, "--root", root, *given)
    assert first.returncode == 0, first.stderr
    assert (root / "boot/firmware/cmdline.txt").read_text() == CMDLINE.replace(
        "consoleblank=600", "consoleblank=0")
    assert (root / "etc/systemd/system/multi-user.target.wants/bed-display.service"
            ).is_symlink()
    assert (root / "etc/bedboard/display.yaml").exists()
    tree = _tree(root)
    second = bedboard("install", config, "--root", root, *given)
    assert second.returncode == 0 and _tree(root) == tree
    assert second.stdout.splitlines()[-1] == "0 step(s) changed something: already installed"


def test_install_refuses_a_config_it_cannot_run_and_names_the_line(tmp_path):
    config, given = _files(tmp_path, AGENT.replace("/var/lib/bed-agent", "/home/pi/state"),
                           "agent.yaml")
    root = tmp_path / "root"
    result = bedboard("install", config, "--root", root, *given)
    assert (result.returncode, result.stderr) == (
        2, "agent.yaml:2: agent.state_dir: must be /var/lib/bed-agent under systemd, where "
           "the unit keeps the ward's count (StateDirectory=bed-agent), got "
           "/home/pi/state\n")
    assert not root.exists()
    config, _ = _files(tmp_path, AGENT, "agent.yaml")
    result = bedboard("install", config, "--root", root)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "agent.yaml:4: broker.tls.ca: /etc/bedboard/tls/ca.crt is not there (under %s): "
        "give it with --ca FILE" % root,
        "agent.yaml:4: broker.password_file: /etc/bedboard/secret is not there (under %s): "
        "give it with --secret FILE" % root]
    bare = tmp_path / "bare.yaml"
    bare.write_text(textwrap.dedent(AGENT).replace(
        ", username: nrs-icu-unit-1,\n         password_file: /etc/bedboard/secret, tls: "
        "{ca: /etc/bedboard/tls/ca.crt}}", "}"))
    result = bedboard("install", bare, "--root", root, "--secret", tmp_path / "secret")
    assert (result.returncode, result.stderr) == (
        2, "bare.yaml: --secret given, but the config has no broker.password_file\n")
    operator = tmp_path / "operator.yaml"
    operator.write_text("operator: {hospital: nrs}\n")
    result = bedboard("install", operator, "--root", root)
    assert (result.returncode, result.stderr) == (
        2, "operator.yaml:1: operator: an operator's config is not installed on a Pi: "
           "bedboard set and status read it where they run\n")


def test_a_second_device_on_one_pi_may_not_take_the_first_one_s_password_file(tmp_path):
    # Found by booting a ward agent and a lobby display on one machine: both
    # configs said /etc/bedboard/secret, and the second install overwrote the
    # agent's password with the display's (the agent was then refused).
    root = tmp_path / "root"
    agent, given = _files(tmp_path, AGENT, "agent.yaml")
    assert bedboard("install", agent, "--root", root, *given).returncode == 0
    display = tmp_path / "display.yaml"
    display.write_text(textwrap.dedent(DISPLAY), encoding="utf-8")
    (tmp_path / "nrs-lobby-1").write_text("lobby\n")
    before = _tree(root)
    result = bedboard("install", display, "--root", root, "--secret",
                      tmp_path / "nrs-lobby-1", "--ca", tmp_path / "ca.crt")
    assert (result.returncode, result.stderr) == (
        2, "display.yaml:4: broker.password_file: /etc/bedboard/secret is already a "
           "secret of agent nrs-icu-unit-1 (/etc/bedboard/agent.yaml, installed here): "
           "give this display a file of its own, e.g. /etc/bedboard/display.secret\n")
    assert _tree(root) == before
    assert (root / "etc/bedboard/secret").read_text() == "s3cret\n"
    own = tmp_path / "own.yaml"
    own.write_text(textwrap.dedent(DISPLAY).replace("/etc/bedboard/secret",
                                                    "/etc/bedboard/display.secret"))
    result = bedboard("install", own, "--root", root, "--secret", tmp_path / "nrs-lobby-1",
                      "--ca", tmp_path / "ca.crt")
    assert result.returncode == 0, result.stderr
    assert (root / "etc/bedboard/secret").read_text() == "s3cret\n"
    assert (root / "etc/bedboard/display.secret").read_text() == "lobby\n"
