"""An inventory is read as every config is: every problem at once, with its file, line and key."""

import json
import os

import yaml

from .ops_helpers import bedboard
from .plan_helpers import write_inventory

BROKEN = """\
    hospital: {id: sskm, name: {en: "SSKM Hospital"}, colour: red}
    broker: {prot: 8883}
    departments:
      - id: medicine
        wards:
          - {id: male, capacity: 40, occupied: 41}
          - {id: male, capacity: -1}
          - id: female
            capacity: 10
            panel: {buttons: {freed: 17, taken: 17, swapped: 4}, status_led: 30}
      - id: icu
        wards: []
      - id: surgery
        wards: [{id: w, capacity: 1, panel: {beds: {"1": 5, "2": 6}}}]
    boards:
      - {id: lobby, tiles: [medicine, cardiology, {department: icu, wards: [unit-9]}]}
      - {id: lobby, screen: {size: [10, 10], rotate: 45}}
    operators: [bed-manager, bed-manager, "Sister Das", sskm-medicine-male]
    extra: 1
    """


def test_every_mistake_is_told_at_its_line_and_nothing_is_written(tmp_path):
    inventory = write_inventory(tmp_path, text=BROKEN)
    result = bedboard("plan", inventory, "--out", tmp_path / "plan")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "sskm.yaml:1: hospital.colour: unknown key (a typo?)",
        "sskm.yaml:2: broker.host: is required",
        "sskm.yaml:2: broker.prot: unknown key (a typo?)",
        "sskm.yaml:6: departments[0].wards[0].occupied: must not exceed capacity (40), "
        "got 41",
        "sskm.yaml:6: departments[0].wards[0]: sskm-medicine-male is already the id of "
        "operator sskm-medicine-male: every device and operator needs its own (it is its "
        "login on the broker)",
        "sskm.yaml:7: departments[0].wards[1].capacity: must be between 0 and 100000, "
        "got -1",
        "sskm.yaml:7: departments[0].wards[1].id: ward male is given twice in medicine",
        "sskm.yaml:10: departments[0].wards[2].panel.buttons.taken: pin 17 is already used "
        "by departments[0].wards[2].panel.buttons.freed",
        "sskm.yaml:10: departments[0].wards[2].panel.buttons.swapped: unknown key "
        "(a typo?)",
        "sskm.yaml:10: departments[0].wards[2].panel.status_led: must be between 0 and 27, "
        "got 30",
        "sskm.yaml:12: departments[1].wards: must list at least one ward",
        "sskm.yaml:14: departments[2].wards[0].panel.beds: has 2 bed contacts, more than "
        "the ward's capacity of 1",
        "sskm.yaml:16: boards[0].tiles[1]: no department cardiology in hospital sskm (it "
        "has: medicine, icu, surgery)",
        "sskm.yaml:16: boards[0].tiles[2]: no ward unit-9 in sskm/icu (it has: none)",
        "sskm.yaml:17: boards[1].screen.size: width and height must be between 160 and "
        "8192, got [10, 10]",
        "sskm.yaml:17: boards[1].screen.rotate: must be one of 0, 90, 180, 270, got 45",
        "sskm.yaml:17: boards[1].id: lobby is already the id of the board of boards[0]: "
        "every device and operator needs its own (it is its login on the broker)",
        "sskm.yaml:18: operators[1]: operator bed-manager is given twice",
        "sskm.yaml:18: operators[2]: operator must match ^[a-z0-9][a-z0-9-]{0,63}$, got "
        "'Sister Das'",
        "sskm.yaml:19: extra: unknown key (a typo?)",
    ]
    assert not os.path.exists(tmp_path / "plan")
    # bedboard check says the same, and status refuses to look with it
    check = bedboard("check", inventory)
    assert (check.returncode, check.stderr) == (2, result.stderr)


def test_several_hospitals_on_one_broker_and_a_board_across_them(tmp_path):
    inventory = write_inventory(tmp_path, text="""\
        broker: {host: broker.crs.lan, port: 8884}
        hospitals:
          - id: nrs
            name: NRS Medical College
            short: {en: NRS, bn: এনআরএস}
            departments:
              - {id: icu, wards: [{id: unit-1, capacity: 10}]}
          - id: cmc
            short: {en: CMC}
            departments:
              - id: medicine
                label: Medicine
                wards:
                  - {id: male, capacity: 50, label: {en: Male, bn: পুরুষ}}
                  - {id: female, capacity: 50, agent: cmc-med-f}
        boards:
          - id: referral-1
            hospital: nrs
            title: {en: Referral desk}
            tiles: [icu, {hospital: cmc, department: medicine, wards: [male]}]
          - {id: cmc-lobby}
        operators: [desk-1]
        """)
    out = tmp_path / "plan"
    result = bedboard("plan", inventory, "--out", out)
    assert result.returncode == 2
    assert result.stderr == "sskm.yaml:21: boards[1].hospital: is required\n"
    with open(inventory, encoding="utf-8") as handle:
        text = handle.read()
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write(text.replace("{id: cmc-lobby}", "{id: cmc-lobby, hospital: cmc}"))
    result = bedboard("plan", inventory, "--out", out)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(out / "devices")) == [
        "cmc-lobby", "cmc-med-f", "cmc-medicine-male", "nrs-icu-unit-1", "referral-1"]
    referral = (out / "devices" / "referral-1" / "display.yaml").read_text()
    assert referral.endswith("""\
board:
  hospital: nrs
  tiles:
    - department: icu
      label: {en: "NRS · ICU", bn: "এনআরএস · আইসিইউ"}
    - department: medicine
      hospital: cmc
      wards: [male]
      label: {en: "CMC · Medicine (Male)"}
""")
    assert "  title: {en: \"Referral desk\"}\n" in referral
    lobby = (out / "devices" / "cmc-lobby" / "display.yaml").read_text()
    assert "title" not in lobby.split("broker:")[0].split("display:")[1]
    assert "  port: 8884\n" in lobby
    operator = (out / "operators" / "desk-1.yaml").read_text()
    assert "operator:\n  heartbeat: 60\n" in operator     # no one hospital: every one


def test_any_text_in_a_label_reads_back_from_the_config_as_written(tmp_path):
    # found by tests/test_fuzz_inventory.py: a control character in a hospital's name
    # went raw into the config's header comment, and its agent refused the file
    name = 'St. "Mary\'s"\n  agent: {id: evil}\x1b # \u2028 — হাসপাতাল\x85'
    inventory = write_inventory(tmp_path, text="""\
        hospital: {id: sskm, name: {en: %s}}
        broker: {host: broker.lan}
        departments:
          - {id: icu, label: %s, wards: [{id: unit-1, capacity: 2}]}
        boards: [{id: lobby}]
        """ % (json.dumps(name), json.dumps(name)))
    out = tmp_path / "plan"
    result = bedboard("plan", inventory, "--out", out)
    assert result.returncode == 0, result.stderr
    board = yaml.safe_load((out / "devices" / "lobby" / "display.yaml").read_text())
    assert board["display"]["title"] == {"en": name}
    assert board["board"]["tiles"] == [{"department": "icu", "label": {"en": name}}]
    agent = (out / "devices" / "sskm-icu-unit-1" / "agent.yaml").read_text()
    assert "evil" not in yaml.safe_load(agent)["agent"].values()
    assert agent.splitlines()[0].startswith("# sskm-icu-unit-1: the ward agent of St. ")


def test_a_bed_s_label_is_judged_as_its_agent_judges_it(tmp_path):
    # found by tests/test_fuzz_inventory.py: an empty label passed the inventory, and
    # plan's last check (the agent's own reader) refused the config made from it
    inventory = write_inventory(tmp_path, text="""\
        hospital: {id: sskm}
        broker: {host: broker.lan}
        departments:
          - id: icu
            wards: [{id: unit-1, capacity: 4, panel: {beds: {"": 5, "a/b": 6, 7: 13}}}]
        """)
    result = bedboard("check", inventory)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "sskm.yaml:5: departments[0].wards[0].panel.beds.: a bed's label must be a label "
        "of up to 32 letters, digits, spaces, '.', '_' or '-', got \"\"",
        "sskm.yaml:5: departments[0].wards[0].panel.beds.a/b: a bed's label must be a "
        "label of up to 32 letters, digits, spaces, '.', '_' or '-', got \"a/b\""]


def test_ids_yaml_would_take_for_numbers_or_booleans_stay_text(tmp_path):
    inventory = write_inventory(tmp_path, text="""\
        hospital: {id: "on"}
        broker: {host: broker.lan}
        departments:
          - id: "0x10"
            wards: [{id: "0123", capacity: 2}, {id: "null", capacity: 2}]
        """)
    out = tmp_path / "plan"
    result = bedboard("plan", inventory, "--out", out)
    assert result.returncode == 0, result.stderr
    agent = yaml.safe_load((out / "devices" / "on-0x10-0123" / "agent.yaml").read_text())
    assert agent["agent"]["hospital"] == "on"            # not True
    assert agent["agent"]["department"] == "0x10"        # not 16
    assert agent["agent"]["ward"] == "0123"              # not 83
    assert sorted(os.listdir(out / "devices")) == ["on-0x10-0123", "on-0x10-null"]


def test_a_panel_with_check_and_hold_buttons_is_planned_into_its_agent(tmp_path):
    inventory = write_inventory(tmp_path, text="""\
        hospital: {id: sskm}
        broker: {host: broker.lan}
        departments:
          - id: icu
            wards:
              - id: unit-1
                capacity: 4
                panel: {buttons: {freed: 17, taken: 27, held: 5, released: 6,
                                  arrived: 13, checked: 19}}
        """)
    out = tmp_path / "plan"
    result = bedboard("plan", inventory, "--out", out)
    assert result.returncode == 0, result.stderr
    agent = yaml.safe_load((out / "devices" / "sskm-icu-unit-1" / "agent.yaml").read_text())
    assert {(item["kind"], item["pin"]) for item in agent["inputs"]} == {
        ("freed", 17), ("taken", 27), ("held", 5), ("released", 6), ("arrived", 13),
        ("checked", 19)}


def test_a_board_carries_its_hospital_s_bound_for_a_count_check(tmp_path):
    # issue 20: board.check_within, from the inventory when given; never a guess
    inventory = write_inventory(tmp_path, text="""\
        broker: {host: broker.crs.lan}
        hospital: {id: nrs, name: NRS}
        departments:
          - {id: icu, wards: [{id: unit-1, capacity: 10}]}
        boards:
          - {id: nrs-lobby-1, tiles: [icu], check_within: 3600}
          - {id: nrs-lobby-2, tiles: [icu]}
        """)
    out = tmp_path / "plan"
    result = bedboard("plan", inventory, "--out", out)
    assert result.returncode == 0, result.stderr
    first = (out / "devices" / "nrs-lobby-1" / "display.yaml").read_text()
    assert "board:\n  hospital: nrs\n  check_within: 3600\n  tiles:\n" in first
    second = (out / "devices" / "nrs-lobby-2" / "display.yaml").read_text()
    assert "check_within" not in second
    assert yaml.safe_load(first)["board"]["check_within"] == 3600
