"""bedboard plan: an inventory becomes every device's files, the broker's, a CA, a bundle per Pi.

What must be true of a plan folder, checked from the files themselves:
planning again changes not one byte (nor a file's time); a new ward adds
its device and changes only the broker's acl and passwd; every bundle holds
its own device's config, password and the CA certificate and nothing else;
the broker's files are what broker-config writes from the configs plan
made; a lost CA key or password stops plan instead of locking devices out.
"""

import os
import shutil

import yaml

from ops.tls_check import check_server_tls

from .ops_helpers import bedboard
from .plan_helpers import add_ward, members, snapshot, write_inventory

DEVICES = ["sskm-icu-unit-1", "sskm-lobby-1", "sskm-medicine-female", "sskm-medicine-male"]


def _plan(inventory, out, *more):
    result = bedboard("plan", inventory, "--out", out, *more)
    assert result.returncode == 0, result.stderr
    return result


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_the_issue_s_inventory_plans_into_every_device_s_files(tmp_path):
    inventory, out = write_inventory(tmp_path), tmp_path / "plan"
    result = _plan(inventory, out)
    assert "4 new: sskm-medicine-male, sskm-medicine-female, sskm-icu-unit-1, " \
           "sskm-lobby-1" in result.stdout
    assert sorted(os.listdir(out / "devices")) == DEVICES
    assert sorted(os.listdir(out / "bundles")) == [d + ".tar.gz" for d in DEVICES]
    assert sorted(os.listdir(out / "secrets")) == sorted(DEVICES + ["bed-manager-1",
                                                                    "tech-sen"])
    # the CA's key is the plan folder's alone, readable by its owner only
    assert os.stat(out / "ca" / "ca.key").st_mode & 0o777 == 0o600
    assert os.stat(out).st_mode & 0o777 == 0o700
    # TLS by default: the broker's certificate names the inventory's host, signed by the CA
    problems, warnings = check_server_tls(str(out / "broker" / "server.crt"),
                                          str(out / "ca" / "ca.crt"),
                                          {"broker.sskm.lan": ["a device"]})
    assert (problems, warnings) == ([], [])
    assert _read(out / "broker" / "ca.crt") == _read(out / "ca" / "ca.crt")
    conf = (out / "broker" / "bedboard.conf").read_text()
    assert "listener 8883\ncafile /etc/mosquitto/bedboard/ca.crt\ncertfile " \
           "/etc/mosquitto/bedboard/server.crt\nkeyfile /etc/mosquitto/bedboard/server.key\n" \
           in conf
    # each device logs in as itself over TLS, with its files where install puts them
    agent = yaml.safe_load((out / "devices" / "sskm-icu-unit-1" / "agent.yaml").read_text())
    assert agent["agent"] == {"id": "sskm-icu-unit-1", "hospital": "sskm",
                              "department": "icu", "ward": "unit-1", "capacity": 12,
                              "occupied": 9, "state_dir": "/var/lib/bed-agent"}
    assert agent["broker"] == {"host": "broker.sskm.lan", "port": 8883, "prefix": "crs",
                               "username": "sskm-icu-unit-1",
                               "password_file": "/etc/bedboard/agent.secret",
                               "tls": {"ca": "/etc/bedboard/ca.crt"}}
    assert [i["pin"] for i in agent["inputs"]] == [17, 27, 22, 23]
    board = yaml.safe_load((out / "devices" / "sskm-lobby-1" / "display.yaml").read_text())
    assert board["display"]["title"] == {"en": "SSKM Hospital", "bn": "এসএসকেএম হাসপাতাল"}
    assert board["board"] == {"hospital": "sskm", "tiles": [
        {"department": "medicine", "label": {"en": "Medicine", "bn": "মেডিসিন"}},
        {"department": "icu", "label": {"en": "ICU", "bn": "আইসিইউ"}}]}
    assert board["broker"]["password_file"] == "/etc/bedboard/display.secret"
    # the ACL gives the board exactly its tiles' wards
    acl = (out / "broker" / "acl").read_text()
    assert "user sskm-lobby-1\ntopic write crs/device/sskm-lobby-1/status\n" \
           "topic read crs/sskm/medicine/+/state\ntopic read crs/sskm/icu/+/state\n" in acl
    # every config is one its own program accepts (the files it names are on the Pis)
    check = bedboard("check", out / "devices")
    assert check.returncode == 0, check.stderr
    assert len(check.stdout.splitlines()) == 5


def test_a_second_plan_changes_nothing(tmp_path):
    inventory, out = write_inventory(tmp_path), tmp_path / "plan"
    _plan(inventory, out)
    before = snapshot(out)
    result = _plan(inventory, out)
    assert snapshot(out) == before          # every byte, mode and modification time
    assert result.stdout.splitlines()[1:5] == [
        "  ca/: kept the hospital's CA",
        "  broker/: unchanged; the certificate for broker.sskm.lan kept",
        "  secrets/: every password kept",
        "  devices/ and bundles/: 4 unchanged"]


def test_a_new_ward_adds_one_device_and_changes_only_the_broker_s_files(tmp_path):
    inventory, out = write_inventory(tmp_path), tmp_path / "plan"
    _plan(inventory, out)
    before = snapshot(out)
    add_ward(inventory)
    result = _plan(inventory, out)
    after = snapshot(out)
    new = "sskm-medicine-female-2"
    assert set(after) - set(before) == {
        "secrets/" + new, "devices/%s/agent.yaml" % new, "devices/%s/agent.secret" % new,
        "devices/%s/ca.crt" % new, "bundles/%s.tar.gz" % new}
    assert sorted(p for p in before if after[p] != before[p]) == ["broker/acl",
                                                                 "broker/passwd"]
    # nobody's password changed: the old passwd lines are all still there
    old = set(before["broker/passwd"][0].decode().splitlines())
    assert old < set(after["broker/passwd"][0].decode().splitlines())
    assert "1 new: %s" % new in result.stdout and "4 unchanged" in result.stdout
    assert "wrote acl, passwd;" in result.stdout


def test_a_bundle_holds_its_device_s_files_and_nothing_else(tmp_path):
    inventory, out = write_inventory(tmp_path), tmp_path / "plan"
    _plan(inventory, out)
    secrets = {name: _read(out / "secrets" / name) for name in os.listdir(out / "secrets")}
    keys = [_read(out / "ca" / "ca.key"), _read(out / "broker" / "server.key")]
    for device in DEVICES:
        bundle = out / "bundles" / (device + ".tar.gz")
        found = members(bundle)
        kind = "display" if device == "sskm-lobby-1" else "agent"
        assert sorted(found) == sorted([kind + ".yaml", kind + ".secret", "ca.crt"])
        assert found[kind + ".secret"] == secrets[device]
        assert found["ca.crt"] == _read(out / "ca" / "ca.crt")
        assert yaml.safe_load(found[kind + ".yaml"])["broker"]["username"] == device
        everything = b"".join(found.values()) + _read(bundle)
        for other, secret in secrets.items():
            if other != device:
                assert secret.strip() not in everything, "%s holds %s's password" % (
                    device, other)
        for key in keys:
            body = b"".join(key.splitlines()[1:-1])
            assert body[:40] not in everything.replace(b"\n", b"")
        # made the same way every time: no time in the gzip header, none in the tar
        assert _read(bundle)[4:8] == b"\0\0\0\0"
        assert (out / "devices" / device / (kind + ".yaml")).read_bytes() == \
            found[kind + ".yaml"]


def test_plan_writes_what_broker_config_writes_from_the_configs_it_made(tmp_path):
    inventory, out = write_inventory(tmp_path), tmp_path / "plan"
    _plan(inventory, out)
    other = tmp_path / "broker-config"
    other.mkdir(mode=0o700)
    shutil.copy(out / "broker" / "passwd", other / "passwd")
    shutil.copytree(out / "secrets", other / "secrets")
    etc = "/etc/mosquitto/bedboard/"
    result = bedboard("broker-config", out / "devices", "--out", other,
                      "--operator", "bed-manager-1", "--operator", "tech-sen",
                      "--tls-cert", etc + "server.crt", "--tls-key", etc + "server.key",
                      "--tls-ca", etc + "ca.crt")
    assert result.returncode == 0, result.stderr
    for name in ("acl", "passwd", "bedboard.conf", "mosquitto.service.d/bedboard.conf"):
        assert _read(other / name) == _read(out / "broker" / name), name


def test_a_lost_ca_key_or_password_stops_plan_before_it_locks_anyone_out(tmp_path):
    inventory, out = write_inventory(tmp_path), tmp_path / "plan"
    _plan(inventory, out)
    os.unlink(out / "secrets" / "sskm-icu-unit-1")
    result = bedboard("plan", inventory, "--out", out)
    assert result.returncode == 2
    assert "names sskm-icu-unit-1, but its secrets/ file is gone" in result.stderr
    assert not (out / "secrets" / "sskm-icu-unit-1").exists()
    result = _plan(inventory, out, "--rotate", "sskm-icu-unit-1")
    assert "1 new password(s): sskm-icu-unit-1" in result.stdout
    assert "1 changed: sskm-icu-unit-1" in result.stdout
    before = snapshot(out)
    os.unlink(out / "ca" / "ca.key")
    result = bedboard("plan", inventory, "--out", out)
    assert (result.returncode, result.stderr) == (2, (
        "%s: the CA's key or certificate is gone, but this folder was planned with one: a "
        "new CA now would make every device refuse the broker until it is installed "
        "again. Restore ca/ from where you keep it (with secrets/), or give --new-ca "
        "(then install every bundle again)\n" % (out / "ca")))
    del before["ca/ca.key"]
    assert snapshot(out) == before
    result = _plan(inventory, out, "--new-ca")
    assert "made the hospital's CA" in result.stdout and "4 changed" in result.stdout
    assert "the certificate for broker.sskm.lan made (it was not signed by this plan's " \
           "CA)" in result.stdout


def test_another_name_for_the_broker_changes_its_certificate_and_no_device(tmp_path):
    inventory, out = write_inventory(tmp_path), tmp_path / "plan"
    _plan(inventory, out)
    before = snapshot(out)
    text = open(inventory, encoding="utf-8").read()
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write(text.replace("broker: {host: broker.sskm.lan}",
                                  "broker: {host: broker.sskm.lan, names: [10.20.0.10]}"))
    result = _plan(inventory, out)
    after = snapshot(out)
    assert sorted(p for p in before if after[p] != before[p]) == ["broker/server.crt",
                                                                 "broker/server.key"]
    assert "made (its names are broker.sskm.lan, the inventory's 10.20.0.10, " \
           "broker.sskm.lan)" in result.stdout
    problems, _ = check_server_tls(str(out / "broker" / "server.crt"),
                                   str(out / "ca" / "ca.crt"),
                                   {"10.20.0.10": ["x"], "broker.sskm.lan": ["y"]})
    assert problems == []


def test_a_panel_of_bed_contacts_pins_and_lights(tmp_path):
    inventory = write_inventory(tmp_path, text="""\
        hospital: {id: nrs, name: NRS}
        broker: {host: 10.20.0.10, tls: false, prefix: crs/wb}
        panel: {status_led: 24}
        departments:
          - id: icu
            wards:
              - id: unit-1
                capacity: 4
                panel:
                  beds: {"1": 5, "2": 6, 3: 13, "bed 4": 19}
                  occupied_when: open
                  buttons: {blocked: 22, unblocked: 23}
                  status_led: 24
                  ack: {pin: 25, kind: buzzer}
              - {id: unit-2, capacity: 8, panel: {buttons: {taken: 17, freed: 27}, hold: 1}}
              - {id: unit-3, capacity: 8}
        operators: [sister-das]
        """)
    out = tmp_path / "plan"
    result = bedboard("plan", inventory, "--out", out, "--plain-listen", "0.0.0.0")
    assert result.returncode == 0, result.stderr
    assert "ca/: none (the inventory's broker has tls: false)" in result.stdout
    assert not os.listdir(out / "ca") and not (out / "broker" / "server.key").exists()
    unit1 = (out / "devices" / "nrs-icu-unit-1" / "agent.yaml").read_text()
    assert unit1.endswith("""\
inputs:
  - {name: blocked, kind: blocked, pin: 22}
  - {name: unblocked, kind: unblocked, pin: 23}
  - {name: bed-1, kind: bed, pin: 5, bed: "1", occupied_when: open}
  - {name: bed-2, kind: bed, pin: 6, bed: "2", occupied_when: open}
  - {name: bed-3, kind: bed, pin: 13, bed: "3", occupied_when: open}
  - {name: bed-bed_4, kind: bed, pin: 19, bed: "bed 4", occupied_when: open}
outputs:
  status_led: {pin: 24}
  ack: {pin: 25, kind: buzzer}
""")
    assert "  port: 1883\n  prefix: crs/wb\n" in unit1 and "tls" not in unit1
    unit2 = (out / "devices" / "nrs-icu-unit-2" / "agent.yaml").read_text()
    assert unit2.endswith("""\
inputs:
  - {name: freed, kind: freed, pin: 27, hold: 1}
  - {name: taken, kind: taken, pin: 17, hold: 1}
""")
    unit3 = (out / "devices" / "nrs-icu-unit-3" / "agent.yaml").read_text()
    assert unit3.endswith("""\
  - {name: unblocked, kind: unblocked, pin: 23}
outputs:
  status_led: {pin: 24}
""")                                        # the inventory's panel: standard buttons, a LED
    assert sorted(members(out / "bundles" / "nrs-icu-unit-2.tar.gz")) == [
        "agent.secret", "agent.yaml"]
    assert "listener 1883 0.0.0.0\n" in (out / "broker" / "bedboard.conf").read_text()


def test_the_hospital_s_heartbeat_reaches_every_agent_board_and_operator(tmp_path):
    # One number, so that the boards and the operators judge a retained copy by
    # the heartbeat the agents really keep (a board assuming 60 s of an agent
    # that beats every 5 s would wait twelve times too long to call it dead).
    inventory = write_inventory(tmp_path)
    with open(inventory, encoding="utf-8") as handle:
        text = handle.read()
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write("heartbeat: 5\n" + text)
    out = tmp_path / "plan"
    _plan(inventory, out)
    agent = yaml.safe_load((out / "devices" / "sskm-icu-unit-1" / "agent.yaml").read_text())
    board = yaml.safe_load((out / "devices" / "sskm-lobby-1" / "display.yaml").read_text())
    operator = yaml.safe_load((out / "operators" / "tech-sen.yaml").read_text())
    assert (agent["agent"]["heartbeat"], board["board"]["heartbeat"],
            operator["operator"]["heartbeat"]) == (5, 5, 5)
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write("heartbeat: 2\n" + text)
    refused = bedboard("plan", inventory, "--out", tmp_path / "other")
    assert (refused.returncode, refused.stderr) == (
        2, "sskm.yaml:1: heartbeat: must be between 5 and 3600, got 2\n")
