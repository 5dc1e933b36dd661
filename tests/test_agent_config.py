"""The agent's config: SPEC's keys, bedboard's additions, every problem at once."""

import glob
import os
import textwrap

import pytest

from agent.config import InputSettings, OutputSettings, load_agent
from bedboard.errors import ConfigError

from .agent_helpers import ROOT


def write(tmp_path, *texts, name="agent.yaml"):
    """Write the config made of ``texts``, each dedented on its own."""
    path = tmp_path / name
    path.write_text("".join(textwrap.dedent(text) for text in texts), encoding="utf-8")
    return str(path)


MINIMAL = """\
    agent:
      id: nrs-medicine-female-2
      hospital: nrs
      department: medicine
      ward: female-2
      capacity: 40
    inputs:
      - {name: freed, kind: freed, pin: 17}
"""


def test_spec_example_and_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    token.chmod(0o600)
    settings = load_agent(write(tmp_path, """\
        agent:
          id: nrs-medicine-female-2
          hospital: nrs
          department: medicine
          ward: female-2
          capacity: 40
          occupied: 0
          state_dir: state/ward
        inputs:
          - {name: freed, kind: freed, pin: 17}
          - {name: taken, kind: taken, pin: 27}
          - {name: bed-12, kind: bed, pin: 22, bed: "12"}
        uplink:
          url: https://portal.example.org/api/v1/ward-state
          token_file: %s
        """ % token))
    assert settings.id == "nrs-medicine-female-2"
    assert str(settings.ward) == "nrs/medicine/female-2"
    assert (settings.capacity, settings.occupied) == (40, 0)
    assert settings.state_dir == str(tmp_path / "state" / "ward")  # relative to the cwd
    assert settings.inputs == (
        InputSettings("freed", "freed", 17), InputSettings("taken", "taken", 27),
        InputSettings("bed-12", "bed", 22, bed="12"))
    assert (settings.heartbeat, settings.pin_factory) == (60.0, "auto")
    assert (settings.status_led, settings.ack) == (None, None)
    assert settings.uplink.token == "s3cret"
    assert (settings.uplink.timeout, settings.uplink.max_backoff) == (10.0, 300.0)
    assert "s3cret" not in repr(settings)
    assert settings.broker.host == "localhost"


def test_additions(tmp_path):
    settings = load_agent(write(tmp_path, MINIMAL.replace("capacity: 40", """\
capacity: 40
      heartbeat: 15
      pin_factory: lgpio"""), """\
      - {name: bed-3, kind: bed, pin: 5, bed: "3", occupied_when: open, pull_up: false,
         debounce: 0.2, hold: 2}
      - {name: taken, kind: taken, pin: 27, hold: 1.5}
    outputs:
      status_led: {pin: 6}
      ack: {pin: 13, kind: buzzer, active_high: false}
    """))
    assert (settings.heartbeat, settings.pin_factory) == (15.0, "lgpio")
    assert settings.inputs[1] == InputSettings("bed-3", "bed", 5, bed="3", debounce=0.2,
                                               hold=2.0, pull_up=False,
                                               occupied_when="open")
    assert settings.inputs[2].hold == 1.5
    assert settings.status_led == OutputSettings(6)
    assert settings.ack == OutputSettings(13, "buzzer", active_high=False)


def test_every_problem_at_once_with_file_line_and_key(tmp_path):
    path = write(tmp_path, """\
        agent:
          id: Ward_2
          hospital: nrs
          department: medicine
          ward: female-2
          capacity: 40
          occupied: 41
          heartbeet: 60
        inputs:
          - {name: freed, kind: freed, pin: 17}
          - {name: freed, kind: fred, pin: 28}
          - {name: taken, kind: taken, pin: 17, bed: "4"}
          - {name: bed-1, kind: bed, pin: 22}
          - {name: bed-2, kind: bed, pin: 23, bed: "1", debounce: -1}
          - {name: bed-3, kind: bed, pin: 24, bed: "1"}
        outputs:
          status_led: {pin: 22}
          ack: {pin: 25, kind: horn}
        uplink:
          url: portal.example.org
        """)
    with pytest.raises(ConfigError) as caught:
        load_agent(path)
    assert caught.value.problems == [
        "agent.yaml:2: agent.id: must match ^[a-z0-9][a-z0-9-]{0,63}$, got 'Ward_2'",
        "agent.yaml:7: agent.occupied: must not exceed capacity (40), got 41",
        "agent.yaml:8: agent.heartbeet: unknown key (a typo?)",
        "agent.yaml:11: inputs[1].kind: must be one of freed, taken, blocked, "
        "unblocked, held, released, arrived, checked, bed, got 'fred'",
        "agent.yaml:11: inputs[1].pin: must be between 0 and 27, got 28",
        "agent.yaml:11: inputs[1].name: 'freed' is already the name of inputs[0]",
        "agent.yaml:12: inputs[2].pin: pin 17 is already used by inputs[0] (freed)",
        "agent.yaml:12: inputs[2].bed: only a bed contact (kind: bed) has bed",
        "agent.yaml:13: inputs[3].bed: is required",
        "agent.yaml:14: inputs[4].debounce: must be between 0 and 5, got -1",
        "agent.yaml:15: inputs[5].bed: bed '1' already has a contact: inputs[4]",
        "agent.yaml:17: outputs.status_led.pin: pin 22 is already used by inputs[3] "
        "(bed-1)",
        "agent.yaml:18: outputs.ack.kind: must be one of led, buzzer, got 'horn'",
        "agent.yaml:20: uplink.url: must be an http:// or https:// address, got "
        "'portal.example.org'",
        "agent.yaml:20: uplink.token_file: is required",
    ]


def test_missing_sections_and_empty_inputs(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_agent(write(tmp_path, "broker: {host: x}\ninputs: []\n"))
    assert caught.value.problems == [
        "agent.yaml:1: agent: is required",
        "agent.yaml:2: inputs: needs at least one button or bed contact",
    ]


def test_more_bed_contacts_than_beds(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_agent(write(tmp_path, MINIMAL.replace("capacity: 40", "capacity: 1")
                         + "      - {name: bed-1, kind: bed, pin: 5, bed: '1'}\n"
                         + "      - {name: bed-2, kind: bed, pin: 6, bed: '2'}\n"))
    assert caught.value.problems == [
        "agent.yaml:8: inputs: has 2 bed contacts, more than the ward's capacity of 1"]


def test_bad_bed_label_and_unreadable_token(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_agent(write(tmp_path, MINIMAL, """\
      - {name: bed-1, kind: bed, pin: 5, bed: "bed/1"}
    uplink:
      url: https://portal.example.org/
      token_file: /nonexistent/token
    """))
    assert caught.value.problems == [
        "agent.yaml:9: inputs[1].bed: must be a label of up to 32 letters, digits, "
        "spaces, '.', '_' or '-', got \"bed/1\"",
        "agent.yaml:12: uplink.token_file: cannot read /nonexistent/token: "
        "No such file or directory",
    ]


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(
    ROOT, "config", "demo", "agents", "*.yaml"))) + [
        os.path.join(ROOT, "config", "examples", "agent.yaml")],
    ids=os.path.basename)
def test_shipped_configs_load(path):
    settings = load_agent(path)
    assert settings.inputs and settings.capacity >= settings.occupied


def test_the_example_with_its_optional_lines_uncommented_loads(tmp_path):
    example = open(os.path.join(ROOT, "config", "examples", "agent.yaml"),
                   encoding="utf-8").read()
    for commented in ("  # heartbeat:", "  # pin_factory:", "# outputs:",
                      "#   status_led:", "#   ack:", "  # - {name: bed-1"):
        assert commented in example
        example = example.replace(commented, commented.replace("# ", "", 1))
    path = tmp_path / "agent.yaml"
    path.write_text(example, encoding="utf-8")
    settings = load_agent(str(path))
    assert settings.status_led.pin == 24 and settings.ack.kind == "buzzer"
    assert [i.bed for i in settings.inputs if i.kind == "bed"] == ["12", "13"]
