"""bedboard install BUNDLE: a Pi installed from its one file, and a bundle that is not one refused.

A bundle travels on a USB stick or by scp, so it is judged before anything
is written: no path out of its folder, no link, nothing the config does not
name, within its size — and a refused bundle leaves the Pi's tree as it was.
"""

import os
import stat
import tarfile

import pytest

from .ops_helpers import bedboard
from .plan_helpers import member, members, tar_gz, write_inventory


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planned")
    inventory = write_inventory(folder)
    result = bedboard("plan", inventory, "--out", folder / "plan")
    assert result.returncode == 0, result.stderr
    return folder / "plan"


def _tree(root):
    found = {}
    for place, dirs, files in os.walk(str(root)):
        for name in dirs + files:
            path = os.path.join(place, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                found[os.path.relpath(path, str(root))] = ("->", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    found[os.path.relpath(path, str(root))] = (
                        stat.S_IMODE(info.st_mode), handle.read())
    return found


def test_a_panel_and_a_board_installed_from_their_bundles(planned, tmp_path):
    root = tmp_path / "pi"
    panel = planned / "bundles" / "sskm-icu-unit-1.tar.gz"
    result = bedboard("install", panel, "--root", root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("installing agent sskm-icu-unit-1 from %s:agent.yaml "
                                    "into %s\n" % (panel, root))
    board = planned / "bundles" / "sskm-lobby-1.tar.gz"
    result = bedboard("install", board, "--root", root)
    assert result.returncode == 0, result.stderr
    tree = _tree(root)
    device = planned / "devices"
    for name, source, mode in (
            ("agent.yaml", device / "sskm-icu-unit-1" / "agent.yaml", 0o644),
            ("agent.secret", device / "sskm-icu-unit-1" / "agent.secret", 0o600),
            ("ca.crt", planned / "ca" / "ca.crt", 0o644),
            ("display.yaml", device / "sskm-lobby-1" / "display.yaml", 0o644),
            ("display.secret", device / "sskm-lobby-1" / "display.secret", 0o600)):
        assert tree["etc/bedboard/" + name] == (mode, source.read_bytes()), name
    assert tree["etc/systemd/system/multi-user.target.wants/bed-agent.service"] == (
        "->", "/etc/systemd/system/bed-agent.service")
    assert "etc/systemd/system/bed-display.service" in tree
    # again: nothing to do, nothing changed
    again = bedboard("install", panel, "--root", root)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == "0 step(s) changed something: already installed"
    assert _tree(root) == tree
    # the bundle carries the password and the CA: giving them too is a mistake
    result = bedboard("install", panel, "--root", root, "--secret", panel)
    assert (result.returncode, result.stderr) == (
        2, "--secret: the bundle carries the device's password and CA\n")
    # --dry-run changes nothing in a fresh tree either
    fresh = tmp_path / "fresh"
    result = bedboard("install", board, "--root", fresh, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "  would do   /etc/bedboard/display.secret (mode 600)" in result.stdout
    assert not fresh.exists()


def _good(planned):
    return members(planned / "bundles" / "sskm-icu-unit-1.tar.gz")


def _crafted(planned, extra=(), drop=(), replace=None):
    entries = [member(name, data) for name, data in sorted(_good(planned).items())
               if name not in drop]
    if replace:
        entries = [replace.get(info.name, (info, data)) for info, data in entries]
    return tar_gz(entries + list(extra))


CRAFTED = {
    "a path out of the folder": (
        lambda p: _crafted(p, extra=[member("../../etc/cron.d/evil", b"* * * * * root sh\n")]),
        "'../../etc/cron.d/evil' is not a plain file name (no folders, no .., no leading "
        "dot)"),
    "an absolute path": (
        lambda p: _crafted(p, extra=[member("/etc/shadow", b"x")]),
        "'/etc/shadow' is not a plain file name (no folders, no .., no leading dot)"),
    "its password a link to /etc/shadow": (
        lambda p: _crafted(p, replace={"agent.secret": member(
            "agent.secret", kind=tarfile.SYMTYPE, link="/etc/shadow")}),
        "agent.secret is not a plain file (a link, a folder or a device): refused"),
    "a hard link": (
        lambda p: _crafted(p, replace={"ca.crt": member(
            "ca.crt", kind=tarfile.LNKTYPE, link="/etc/passwd")}),
        "ca.crt is not a plain file (a link, a folder or a device): refused"),
    "a folder": (
        lambda p: _crafted(p, extra=[member("tls", kind=tarfile.DIRTYPE)]),
        "tls is not a plain file (a link, a folder or a device): refused"),
    "another device's password beside its own": (
        lambda p: _crafted(p, extra=[member("display.secret", b"someone-else\n")]),
        "holds display.secret, which its config does not name: a bundle carries one "
        "device's files and nothing else"),
    "no password": (
        lambda p: _crafted(p, drop=["agent.secret"]),
        "has no agent.secret, which its config names as broker.password_file "
        "(/etc/bedboard/agent.secret)"),
    "two configs": (
        lambda p: _crafted(p, extra=[member("display.yaml", b"display: {id: x}\n")]),
        "must hold one device config (agent.yaml or display.yaml), holds agent.secret, "
        "agent.yaml, ca.crt, display.yaml"),
    "a file too big for a device's": (
        lambda p: _crafted(p, extra=[member("big", b"0" * (300 << 10))]),
        "big is 307200 bytes, more than a device's file can be (262144)"),
    "not a .tar.gz": (
        lambda p: b"\x1f\x8b\x08\x00 this is not gzip at all",
        "not a bundle (a .tar.gz from bedboard plan): "),
    "more than a megabyte": (
        lambda p: b"\x1f\x8b" + os.urandom((1 << 20) + 10),
        "more than 1048576 bytes: not a bundle from bedboard plan"),
}


@pytest.mark.parametrize("what", sorted(CRAFTED))
def test_a_bundle_that_is_not_one_is_refused_and_changes_nothing(planned, tmp_path, what):
    make, said = CRAFTED[what]
    bundle = tmp_path / "sskm-icu-unit-1.tar.gz"
    bundle.write_bytes(make(planned))
    root = tmp_path / "pi"
    result = bedboard("install", bundle, "--root", root)
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith("%s: %s" % (bundle, said)), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not root.exists()
    assert not os.path.exists(tmp_path / "etc")
