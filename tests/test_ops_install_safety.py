"""bedboard install touches only its own: no path a config names leads it anywhere else.

Run as root (as on a Pi), against a ``--root`` tree and a live ``--dry-run``,
with configs a careless or hostile hand wrote.
"""

import os
import textwrap

from .ops_helpers import bedboard
from .test_ops_install import AGENT, DISPLAY, _files


def _config(tmp_path, text, name="agent.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_config_naming_system_files_is_refused_before_anything_is_done(tmp_path):
    # finding 3: a dry run said it would set /etc/shadow to 644 and chown /etc/gshadow
    shadow = os.stat("/etc/shadow")
    config = _config(tmp_path, AGENT.replace(
        "password_file: /etc/bedboard/secret, tls: {ca: /etc/bedboard/tls/ca.crt}",
        "password_file: /etc/shadow,\n             tls: {ca: /etc/bedboard/../passwd, "
        "cert: /etc/bedboard/tls/../../gshadow, key: /etc/gshadow}"))
    for run in (["--dry-run"], ["--root", tmp_path / "root"]):
        result = bedboard("install", config, *run)
        assert result.returncode == 2, result.stdout
        lines = result.stderr.splitlines()
        assert sorted(lines) == sorted([
            "agent.yaml:5: broker.tls.ca: must be a plain absolute path (no .., no //, no "
            "trailing /), got /etc/bedboard/../passwd",
            "agent.yaml:5: broker.tls.cert: must be a plain absolute path (no .., no //, no "
            "trailing /), got /etc/bedboard/tls/../../gshadow",
            "agent.yaml:5: broker.tls.key: must be a file under /etc/bedboard, the folder "
            "bedboard install owns, got /etc/gshadow",
            "agent.yaml:4: broker.password_file: must be a file under /etc/bedboard, the "
            "folder bedboard install owns, got /etc/shadow"]), lines
        assert "would" not in result.stdout
    assert not (tmp_path / "root").exists()
    after = os.stat("/etc/shadow")
    assert (after.st_mode, after.st_uid) == (shadow.st_mode, shadow.st_uid)


def test_a_symbolic_link_out_of_root_or_out_of_etc_bedboard_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = outside / "precious"
    precious.write_text("keep me\n")
    os.chmod(precious, 0o644)
    config, given = _files(tmp_path, AGENT, "agent.yaml")
    # the password file in the tree is a link to a file outside it
    root = tmp_path / "root"
    (root / "etc" / "bedboard").mkdir(parents=True)
    os.symlink(precious, root / "etc" / "bedboard" / "secret")
    result = bedboard("install", config, "--root", root, "--ca", given[3])
    assert result.returncode == 2, result.stdout
    assert result.stderr == (
        "agent.yaml:4: broker.password_file: /etc/bedboard/secret leads out of "
        "/etc/bedboard under --root (a symbolic link to %s): install writes only its own "
        "files\n" % precious)
    # the tree's /etc/bedboard itself leads out of --root
    other = tmp_path / "root2"
    (other / "etc").mkdir(parents=True)
    os.symlink(outside, other / "etc" / "bedboard")
    result = bedboard("install", config, "--root", other, *given)
    assert result.returncode == 2, result.stdout
    assert "leads out of /etc/bedboard under --root" in result.stderr
    assert precious.read_text() == "keep me\n"
    assert oct(os.stat(precious).st_mode & 0o777) == "0o644"
    assert sorted(os.listdir(outside)) == ["precious"]


def test_another_device_s_secret_is_refused(tmp_path):
    # finding 3: install accepted another device's secret without a word
    config, given = _files(tmp_path, AGENT, "agent.yaml")
    theirs = tmp_path / "nrs-icu-unit-2"
    theirs.write_text("their-password\n")
    result = bedboard("install", config, "--root", tmp_path / "root", "--secret", theirs,
                      "--ca", given[3])
    assert (result.returncode, result.stderr) == (
        2, "--secret %s: named for device nrs-icu-unit-2 (broker-config's "
           "secrets/nrs-icu-unit-2), but this config is agent nrs-icu-unit-1: give "
           "secrets/nrs-icu-unit-1\n" % theirs)
    ours = tmp_path / "nrs-icu-unit-1"
    ours.write_text("our-password\n")
    root = tmp_path / "root"
    result = bedboard("install", config, "--root", root, "--secret", ours, "--ca", given[3])
    assert result.returncode == 0, result.stderr
    # a display on the same machine must not take over the agent's password file
    display = _config(tmp_path, DISPLAY, "display.yaml")
    lobby = tmp_path / "nrs-lobby-1"
    lobby.write_text("lobby-password\n")
    result = bedboard("install", display, "--root", root, "--secret", lobby, "--ca",
                      given[3])
    assert (result.returncode, result.stderr) == (
        2, "display.yaml:4: broker.password_file: /etc/bedboard/secret is already a "
           "secret of agent nrs-icu-unit-1 (/etc/bedboard/agent.yaml, installed here): "
           "give this display a file of its own, e.g. /etc/bedboard/display.secret\n")
    assert (root / "etc" / "bedboard" / "secret").read_text() == "our-password\n"
