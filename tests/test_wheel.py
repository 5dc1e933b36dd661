"""The wheel is the whole product: installed alone into a fresh venv, with no network, it installs a Pi.

The wheelhouse is built as docs/install.md says (``scripts/wheelhouse``:
bedboard's wheel from this source and its dependencies from the wheel cache),
installed with ``pip install --no-index --find-links`` into a venv that never
sees this source tree, and ``bedboard install --root`` run from there for a
ward panel and a lobby display.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from .system_helpers import ROOT, offline_pip_env, wheelhouse

AGENT = """\
    agent: {id: nrs-icu-unit-1, hospital: nrs, department: icu, ward: unit-1,
            capacity: 16, state_dir: /var/lib/bed-agent}
    broker: {host: broker.nrs.local, port: 8883, username: nrs-icu-unit-1,
             password_file: /etc/bedboard/agent-secret, tls: {ca: /etc/bedboard/tls/ca.crt}}
    inputs:
      - {name: freed, kind: freed, pin: 17}
    """
DISPLAY = """\
    display: {id: nrs-lobby-1}
    board: {hospital: nrs}
    broker: {host: broker.nrs.local, port: 8883, username: nrs-lobby-1,
             password_file: /etc/bedboard/display-secret, tls: {ca: /etc/bedboard/tls/ca.crt}}
    """


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh venv with bedboard installed from the wheelhouse alone."""
    folder = tmp_path_factory.mktemp("wheel")
    house = wheelhouse(str(folder / "wheelhouse"))
    env = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=120)
    done = subprocess.run([str(env / "bin" / "pip"), "install", "-q", "--no-index",
                           "--find-links", house, "bedboard[pi]"],
                          capture_output=True, text=True, timeout=300, cwd=str(folder),
                          env=offline_pip_env())
    assert done.returncode == 0, done.stderr
    return env


def _run(venv, program, *args, cwd):
    return subprocess.run([str(venv / "bin" / program)] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=60, cwd=str(cwd))


def test_the_venv_runs_the_installed_package_not_this_source(venv, tmp_path):
    done = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import ops, agent, display, bedboard; "
                           "print(ops.__file__, agent.__file__, display.__file__)"],
                          capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    for path in done.stdout.split():
        assert path.startswith(str(venv)), path
        assert not path.startswith(ROOT), path


@pytest.mark.parametrize("kind, text, unit, program", [
    ("agent", AGENT, "bed-agent.service", "bed-agent"),
    ("display", DISPLAY, "bed-display.service", "bed-display"),
])
def test_bedboard_install_from_the_wheel_writes_the_shipped_unit(venv, tmp_path, kind, text,
                                                                 unit, program):
    config = tmp_path / ("%s.yaml" % kind)
    config.write_text(textwrap.dedent(text), encoding="utf-8")
    (tmp_path / "secret").write_text("s3cret\n")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    root = tmp_path / "root"
    done = _run(venv, "bedboard", "install", config, "--root", root, "--secret",
                tmp_path / "secret", "--ca", tmp_path / "ca.crt", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    installed = (root / "etc/systemd/system" / unit).read_text(encoding="utf-8")
    with open(os.path.join(ROOT, "systemd", unit), encoding="utf-8") as handle:
        shipped = handle.read()
    assert installed == shipped.replace("/opt/bedboard/.venv/", "%s/" % venv)
    assert "ExecStart=%s/bin/%s --config /etc/bedboard/%s.yaml" % (venv, program, kind) \
        in installed
    assert os.readlink(root / "etc/systemd/system/multi-user.target.wants" / unit) == \
        "/etc/systemd/system/" + unit


@pytest.mark.parametrize("example, program", [("agent.yaml", "bed-agent"),
                                              ("display.yaml", "bed-display")])
def test_the_example_configs_are_in_the_wheel_and_check_clean(venv, tmp_path, example,
                                                              program):
    done = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import importlib.resources as r; "
                           "print(r.files('ops') / 'examples' / %r)" % example],
                          capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    path = done.stdout.strip()
    assert path.startswith(str(venv)) and os.path.isfile(path), done.stdout + done.stderr
    with open(os.path.join(ROOT, "config", "examples", example), "rb") as handle:
        assert open(path, "rb").read() == handle.read()
    checked = _run(venv, program, "--config", path, "--check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
