"""Helpers for the booted appliance's tests: the wheelhouse (more to come)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def offline_pip_env():
    """The environment for a pip that may use no index: only --find-links."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def wheelhouse(out, arch="x86_64"):
    """``scripts/wheelhouse --arch ARCH --out OUT``, as docs/install.md runs it; ``out``."""
    done = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "wheelhouse"),
                           "--arch", arch, "--out", out],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return out
