"""The demo's hospital: config/demo-hospitals.yaml planned, runnable on the demo's broker.

``make demo`` plans the inventory on every start (:func:`plan_demo`, into
``.demo/plan/``: the CA, the broker's files, every device's config, password
and bundle, as for a real hospital) and runs the wards and boards from
:func:`demo_copy` of each config plan made.  The copy differs from plan's
in three things only, each because the demo is one machine and not a
hospital: no login and no TLS (the demo's broker is a private, anonymous
Mosquitto on this machine, and a Pi's /etc/bedboard is not there), port
1883, and the ledger in the demo's folder instead of /var/lib/bed-agent.

``config/demo/`` holds the same copies, for the tests and the pictures
that read the demo's configs and for anyone who wants to see what plan
makes; ``python -m demo.configs`` writes them, and
tests/test_ops_plan_demo.py keeps them equal to what plan makes now.  They
are kept in the repository rather than only made at start because a dozen
tests, the shipped broker ACL (config/mosquitto/) and the README read them,
and a change to plan then shows in the review as the change it makes to
every device's config.
"""

import logging
import os
import sys
import tempfile

from ops.plan import plan

_LOG = logging.getLogger(__name__)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INVENTORY = os.path.join(ROOT, "config", "demo-hospitals.yaml")
CONFIGS = os.path.join(ROOT, "config", "demo")
# The boards' files, by id (the names the tests and the README have always used).
BOARD_FILES = {"nrs-lobby-1": "nrs-lobby.yaml", "nrs-lobby-portrait": "nrs-lobby-portrait.yaml",
               "crs-referral-1": "referral.yaml"}
HEADER = ("# The demo's copy of what \"bedboard plan\" makes of config/demo-hospitals.yaml:\n"
          "# no login and no TLS (the demo's broker is a private one on this machine),\n"
          "# port 1883, the ledger in the demo's folder.  python -m demo.configs writes it.\n")
DROPPED = ("  username:", "  password_file:", "  tls:")


def plan_demo(folder):
    """Plan the demo's inventory into ``folder`` (kept between runs); return ops.plan.Planned."""
    return plan(INVENTORY, folder)


def demo_copy(text, device_id):
    """Plan's config ``text`` for device ``device_id``, runnable on the demo's broker."""
    lines, section = [], None
    for index, line in enumerate(text.splitlines()):
        if index in (1, 2) and line.startswith("# "):
            if index == 1:
                lines += HEADER.splitlines()
            continue
        if line and not line.startswith((" ", "#")):
            section = line.split(":")[0]
        if section == "broker" and line.startswith(DROPPED):
            continue
        if section == "broker" and line.startswith("  port:"):
            line = "  port: 1883"
        if section == "agent" and line.startswith("  state_dir:"):
            line = "  state_dir: state/%s" % device_id
        lines.append(line)
    return "\n".join(lines) + "\n"


def demo_copies(planned):
    """``{path under config/demo: text}`` of every device ``planned`` made."""
    copies = {}
    devices = os.path.join(planned.out, "devices")
    for device_id in sorted(planned.devices):
        folder = os.path.join(devices, device_id)
        for name, target in (("agent.yaml", os.path.join("agents", device_id + ".yaml")),
                             ("display.yaml", BOARD_FILES.get(device_id,
                                                              device_id + ".yaml"))):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as handle:
                    copies[target] = demo_copy(handle.read(), device_id)
    return copies


def write_copies(copies, folder):
    """Write ``copies`` under ``folder``; return the paths written."""
    written = []
    for name, text in sorted(copies.items()):
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        written.append(path)
    return written


def main():
    """``python -m demo.configs``: write config/demo/ from a fresh plan of the inventory."""
    with tempfile.TemporaryDirectory(prefix="bedboard-demo-plan-") as folder:
        copies = demo_copies(plan_demo(os.path.join(folder, "plan")))
    stale = [os.path.join(CONFIGS, "agents", name)
             for name in os.listdir(os.path.join(CONFIGS, "agents"))
             if os.path.join("agents", name) not in copies]
    for path in stale:
        os.unlink(path)
    written = write_copies(copies, CONFIGS)
    print("wrote %d configs in %s%s" % (len(written), CONFIGS, ", removed %d" % len(stale)
                                        if stale else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
