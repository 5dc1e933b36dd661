"""The demo's five colleges planned from config/demo-hospitals.yaml: what config/demo/ keeps.

``make demo`` plans the inventory on every start and runs the copies
demo/configs.py makes of plan's configs; config/demo/ must be exactly those
copies (``python -m demo.configs`` writes them), so that the tests, the
pictures and the shipped broker ACL that read config/demo/ see what plan
makes today.
"""

import glob
import os

import yaml

from demo.configs import BOARD_FILES, CONFIGS, demo_copies, plan_demo

from .plan_helpers import members


def test_the_five_colleges_plan_into_bundles_and_config_demo_is_their_copy(tmp_path):
    planned = plan_demo(str(tmp_path / "plan"))
    bundles = sorted(os.listdir(tmp_path / "plan" / "bundles"))
    assert len(bundles) == 55                   # 52 wards and 3 boards
    assert {b.split("-")[0] for b in bundles} == {"cmc", "sskm", "rgkar", "nrs", "nmc",
                                                  "crs"}
    for bundle in bundles:
        device = bundle[:-len(".tar.gz")]
        found = members(tmp_path / "plan" / "bundles" / bundle)
        kind = "display" if device in BOARD_FILES else "agent"
        assert sorted(found) == sorted([kind + ".yaml", kind + ".secret", "ca.crt"])
        assert yaml.safe_load(found[kind + ".yaml"])["broker"]["username"] == device
    copies = demo_copies(planned)
    shipped = {os.path.relpath(path, CONFIGS): path for path in
               glob.glob(os.path.join(CONFIGS, "**", "*.yaml"), recursive=True)}
    assert sorted(copies) == sorted(shipped), "run python -m demo.configs"
    for name, text in copies.items():
        with open(shipped[name], encoding="utf-8") as handle:
            assert handle.read() == text, "config/demo/%s is not what plan makes now: run " \
                                          "python -m demo.configs" % name
    # the copy is plan's config without the login, TLS and /var/lib: nothing else
    with open(os.path.join(tmp_path, "plan", "devices", "nrs-icu-unit-1", "agent.yaml"),
              encoding="utf-8") as handle:
        made = yaml.safe_load(handle)
    copy = yaml.safe_load(copies[os.path.join("agents", "nrs-icu-unit-1.yaml")])
    assert made["broker"].pop("username") == "nrs-icu-unit-1"
    assert made["broker"].pop("password_file") == "/etc/bedboard/agent.secret"
    assert made["broker"].pop("tls") == {"ca": "/etc/bedboard/ca.crt"}
    assert (made["broker"].pop("port"), copy["broker"].pop("port")) == (8883, 1883)
    assert made["agent"].pop("state_dir") == "/var/lib/bed-agent"
    assert copy["agent"].pop("state_dir") == "state/nrs-icu-unit-1"
    assert made == copy
