"""Every input path survives anything: hostile bytes on every topic and in every file a program reads.

Each program is fed what an attacker with a broker account (or a careless
edit) can put in front of it — deeply nested JSON, huge payloads, invalid
UTF-8, wrong types, YAML alias bombs — and must drop it, say so, and still
do its job afterwards: the agent still counts and answers a correction, the
readers of configs still name file, line and key.
"""

import json
import random
import resource
import subprocess
import sys
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.commands import read_set, request_id, sender
from bedboard.link import Received
from bedboard.payloads import SetReply
from bedboard.topics import WardKey

from .agent_helpers import REPLY, ROOT, RunningAgent, set_command, wait_state, write_config


def _reply(probe, request, timeout=10):
    """The agent's SetReply to ``request``."""
    def found(messages):
        for message in messages:
            if message.topic == REPLY:
                answer = SetReply.parse(message.payload)
                if answer.id == request:
                    return answer
        return None
    return probe.wait_for(found, timeout)


def test_a_deeply_nested_set_does_not_kill_the_agent(tmp_path, mosquitto, probe):
    # finding 5: 4,000 "[" on the set topic raised RecursionError in request_id()
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=10)
    with RunningAgent(config) as running:
        running.wait_checked()
        for bomb in (b"[" * 4000, b'{"id": ' + b"[" * 4000 + b"]" * 4000 + b"}",
                     b'{"a":' * 3000 + b"1" + b"}" * 3000):
            set_command(probe, bomb)
        set_command(probe, {"occupied": 12, "id": "after-the-bombs", "by": "Sister Das"})
        assert _reply(probe, "after-the-bombs").ok
        assert wait_state(probe, 1).occupied == 12
        assert running.press("taken").state.occupied == 13     # the loop still runs
        assert running._thread.is_alive()


def test_request_id_of_any_payload_is_an_id_or_none():
    for payload in (b"[" * 100_000, b"\xff" * 10, b'{"id": "ok-1"}' + b" " * 5000,
                    json.dumps({"id": ["x"] * 10}).encode(), b'{"id": "a/b"}'):
        assert request_id(payload) is None
    assert request_id(b'{"id": "set-1", "occupied": "x"}') == "set-1"
    reading = read_set(Received("crs/a/b/c/set", b"[" * 4000, False))
    assert reading.command is None and "not JSON" in reading.refusal


# -- config files: YAML that explodes, nests or weighs too much -----------------

def _bedboard_check_bounded(path, seconds=60, memory=1 << 30):
    """``bedboard check PATH`` with its memory capped (a bomb must not take the machine)."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    return subprocess.run([sys.executable, "-m", "ops", "check", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=seconds, preexec_fn=cap)


def _alias_bomb(levels=9, width=9):
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        lines.append("a%d: &a%d [%s]" % (level, level,
                                           ", ".join(["*a%d" % (level - 1)] * width)))
    return lines, "*a%d" % levels


def test_a_yaml_alias_bomb_is_a_config_error_not_a_hang(tmp_path):
    # finding 6: bedboard check ran past 60 s and 1.5 GB (the error repr()'d the expansion)
    lines, top = _alias_bomb()
    path = tmp_path / "board.yaml"
    path.write_text("\n".join(["x:"] + ["  " + line for line in lines]
                              + ["display:", "  id: nrs-lobby-1", "  rotate: %s" % top,
                                 "board: {hospital: nrs}"]) + "\n")
    result = _bedboard_check_bounded(path)
    assert result.returncode == 2, result.stderr[-500:]
    assert result.stderr.startswith("board.yaml:"), result.stderr[:300]
    assert "alias" in result.stderr and len(result.stderr) < 2000, result.stderr[:300]


def test_a_value_that_is_too_big_to_show_is_shown_short(tmp_path):
    # no aliases, but a wrong value of 5,000 items: the message stays one short line
    path = tmp_path / "board.yaml"
    path.write_text("display:\n  id: nrs-lobby-1\n  rotate: [%s]\nboard: {hospital: nrs}\n"
                    % ", ".join(["[1, 2, 3]"] * 5_000))
    result = _bedboard_check_bounded(path)
    assert result.returncode == 2, result.stderr[-500:]
    (line,) = [x for x in result.stderr.splitlines() if "display.rotate" in x]
    assert line.startswith("board.yaml:3: display.rotate: must be one of") and len(line) < 200


def test_deep_nesting_huge_files_and_bad_bytes_are_config_errors(tmp_path):
    cases = {
        "deep.yaml": ("broker: " + "[" * 20_000 + "]" * 20_000 + "\n").encode(),
        "deepmap.yaml": ("broker: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n").encode(),
        "huge.yaml": b"display: {id: nrs-lobby-1}\n# " + b"x" * (3 << 20) + b"\n",
        "latin1.yaml": b"display: {id: nrs-lobby-1, title: \xe9t\xe9}\nboard: {hospital: nrs}\n",
        "tags.yaml": b"display: !!python/object/apply:os.system ['true']\n",
        "list.yaml": b"- a\n- b\n",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = _bedboard_check_bounded(path)
        assert result.returncode == 2, (name, result.stderr[-300:])
        assert result.stderr.startswith(name + ":"), (name, result.stderr[:300])
        assert "Traceback" not in result.stderr and len(result.stderr) < 2000, name


# -- hostile payloads, drawn ---------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                inner, max_size=4),
    max_leaves=20)
CONTRACT_KEYS = ("v", "capacity", "occupied", "blocked", "seq", "at", "agent", "id",
                 "by", "reason", "ok", "unconfirmed", "synced", "mismatched", "kind")


@st.composite
def hostile_payloads(draw):
    """Bytes an account on the broker could send: of every shape the contract forbids."""
    kind = draw(st.integers(0, 6))
    if kind == 0:
        return draw(st.binary(max_size=600))
    if kind == 1:                                     # nested deep
        depth = draw(st.integers(100, 60_000))
        opener = draw(st.sampled_from([b"[", b'{"a":', b'{"id":[']))
        return opener * depth
    if kind == 2:                                     # the contract's keys, wrong types
        keys = draw(st.lists(st.sampled_from(CONTRACT_KEYS), max_size=len(CONTRACT_KEYS)))
        return json.dumps({k: draw(JSON_VALUES) for k in keys}).encode()
    if kind == 3:                                     # huge
        return b'{"occupied": 1, "pad": "' + b"x" * draw(st.integers(4000, 300_000)) + b'"}'
    if kind == 4:                                     # invalid UTF-8 in a JSON shape
        return b'{"by": "\xff\xfe", "occupied": 1, "id": "\xc3"}'
    if kind == 5:
        return json.dumps(draw(JSON_VALUES)).encode()
    return draw(st.sampled_from([b"", b"online", b"offline", b"null", b"NaN",
                                 b'{"occupied": Infinity}', b'{"v": 1e999}']))


# The same shapes, fixed, for the tests that run a whole program.
_RANDOM = random.Random(16)
BATTERY = [b"[" * 60_000, b'{"a":' * 5000, b'{"id": ' + b"[" * 5000, b"\xff\xfe\x00",
           b'{"v": 1, "capacity": "40", "occupied": [], "seq": -1, "at": 5, "agent": {}}',
           b'{"v": 1, "capacity": 1e999, "occupied": 1}', b'{"occupied": NaN}',
           b"x" * 300_000, b'{"pad": "' + b"y" * 5000 + b'"}', b"null", b"[]", b"",
           b"online\x00", b"OFFLINE", bytes(_RANDOM.getrandbits(8) for _ in range(500))]


def _same_shape_as_the_agent_reads(payload):
    """What a SetReading may be: a command, or a refusal in words; never an exception."""
    reading = read_set(Received("crs/nrs/medicine/female-2/set/sister-das", payload, False),
                       "sister-das")
    assert (reading.command is None) != (reading.refusal is None)
    return reading


@settings(max_examples=80, deadline=None)
@given(payload=hostile_payloads(), topic=st.text(max_size=80))
def test_the_agent_reads_any_set_payload_and_any_topic_without_raising(payload, topic):
    _same_shape_as_the_agent_reads(payload)
    request_id(payload)
    is_set, operator = sender("crs", WardKey("nrs", "medicine", "female-2"), topic)
    assert is_set or operator is None


AGENT_TOPICS = ("crs/nrs/medicine/female-2/set", "crs/nrs/medicine/female-2/set/sister-das",
                "crs/nrs/medicine/female-2/set/x/y", "crs/nrs/medicine/female-2/state",
                "crs/device/nrs-medicine-female-2/status")


@settings(max_examples=2, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.tuples(st.sampled_from(AGENT_TOPICS), hostile_payloads(),
                                st.booleans()), min_size=15, max_size=30))
def test_the_agent_survives_anything_on_every_topic_it_reads(tmp_path_factory, mosquitto,
                                                             probe, batch):
    folder = tmp_path_factory.mktemp("agent")
    config = write_config(folder, mosquitto.port, capacity=40, occupied=10)
    # what it reads at start (its own state and status, to recover a lost ledger)
    for topic, payload, _ in batch[:4]:
        probe.publish(topic, payload, retain=True)
    try:
        with RunningAgent(config) as running:
            running.wait_ready(30)
            for topic, payload, retain in batch:
                probe.publish(topic, payload, retain=retain)
            request = "still-works-%d" % len(batch)
            set_command(probe, {"occupied": 12, "capacity": 40, "id": request})
            assert _reply(probe, request, 30).ok
            assert running.press("taken").state.occupied == 13
            assert running._thread.is_alive()
    finally:
        for topic in AGENT_TOPICS:
            probe.publish(topic, b"", retain=True)


# -- the board -------------------------------------------------------------------------

BOARD_TOPICS = ("crs/nrs/icu/unit-1/state", "crs/nrs/icu/unit-2/state",
                "crs/device/nrs-icu-unit-1/status", "crs/device/nrs-icu-unit-2/status",
                "crs/nrs/icu/unit-1/event", "crs/nrs/icu/unit-1/set")


def _valid_state(agent, occupied, seq):
    return json.dumps({"v": 1, "capacity": 20, "occupied": occupied, "seq": seq,
                       "at": "2026-11-25T18:00:00Z", "agent": agent}).encode()


@settings(max_examples=80, deadline=None)
@given(batch=st.lists(st.tuples(st.sampled_from(BOARD_TOPICS) | st.text(max_size=60),
                                hostile_payloads(), st.booleans()), max_size=25))
def test_the_board_takes_any_message_and_still_shows_a_valid_one(batch):
    from display.board import Board
    from display.config import TileSpec
    from display.feed import Feed, apply
    clock = [1000.0]
    feed = Feed("crs", clock=lambda: clock[0], wall_synced=lambda: False)
    board = Board("nrs", [TileSpec("nrs", "icu", ("unit-1", "unit-2"))], now=clock[0])
    feed.on_connection(True)
    for topic, payload, retained in batch:
        feed.on_message(Received(topic, payload, retained))
        apply(board, feed.drain())
        board.view(clock[0])
    clock[0] += 1
    # afterwards a panel's real, live state still reaches the tile (with a seq above
    # any a hostile message could have made the board keep)
    for ward, occupied in (("unit-1", 5), ("unit-2", 7)):
        feed.on_message(Received("crs/nrs/icu/%s/state" % ward,
                                 _valid_state("nrs-icu-%s" % ward, occupied, 2 ** 62),
                                 False))
        feed.on_message(Received("crs/device/nrs-icu-%s/status" % ward, b"online", False))
    apply(board, feed.drain())
    (tile,) = board.view(clock[0]).tiles
    assert tile.live and (tile.vacant, tile.occupied) == (28, 12), tile


def test_the_running_board_survives_anything_on_its_topics(tmp_path, mosquitto, probe):
    from .display_helpers import display_env
    from .ops_helpers import write_display
    display = write_display(tmp_path, "nrs-lobby-1", mosquitto.port,
                            [("icu", ["unit-1", "unit-2"])])
    frames = tmp_path / "frames.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "display", "--config", display, "--snapshot",
         str(tmp_path / "board.png"), "--snapshot-every", "0.5", "--frame-log",
         str(frames)], cwd=ROOT, env=display_env(), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        for number, payload in enumerate(BATTERY * 3):
            probe.publish(BOARD_TOPICS[number % len(BOARD_TOPICS)], payload,
                          retain=number % 2 == 0)
        for ward, occupied in (("unit-1", 5), ("unit-2", 7)):
            probe.publish("crs/device/nrs-icu-%s/status" % ward, b"online", retain=True)
            probe.publish("crs/nrs/icu/%s/state" % ward,
                          _valid_state("nrs-icu-%s" % ward, occupied, 2 ** 62), retain=True)
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read()[-2000:]
            text = frames.read_text() if frames.exists() else ""
            if '"vacant": 28' in text or '"vacant":28' in text:
                break
            assert time.monotonic() < deadline, text[-1000:]
            time.sleep(0.2)
    finally:
        process.terminate()
        assert process.wait(30) == 0
        for topic in BOARD_TOPICS:
            probe.publish(topic, b"", retain=True)


# -- the operators' tools ------------------------------------------------------------

@settings(max_examples=80, deadline=None)
@given(batch=st.lists(st.tuples(st.sampled_from(BOARD_TOPICS) | st.text(max_size=60),
                                hostile_payloads(), st.booleans()), max_size=25))
def test_status_judges_any_message_and_still_a_valid_one(batch):
    from ops.fleet import LIVE, Fleet
    fleet = Fleet("crs")
    for number, (topic, payload, retained) in enumerate(batch):
        fleet.arrived(topic, payload, retained, float(number))
    fleet.arrived("crs/nrs/icu/unit-1/state", _valid_state("nrs-icu-unit-1", 5, 2 ** 62),
                  False, 100.0)
    fleet.arrived("crs/device/nrs-icu-unit-1/status", b"online", False, 100.0)
    verdicts = {str(v.key): v for v in fleet.ward_verdicts(0.0, 101.0)}
    assert verdicts["nrs/icu/unit-1"].heard == LIVE
    fleet.device_verdicts()


def test_status_and_set_survive_anything_on_the_broker(tmp_path, mosquitto, probe):
    from .ops_helpers import bedboard, write_agent, write_operator
    from .test_ops_set import RunningAgent as AgentProcess
    operator = write_operator(tmp_path, mosquitto.port)
    topics = ["crs/nrs/icu/unit-1/state", "crs/nrs/icu/unit-1/reply",
              "crs/device/nrs-icu-unit-1/status", "crs/nrs/icu/unit-9/state",
              "crs/x/y/z/state", "crs/device/-bad-/status", "crs/a/b/c/d/e"]
    for number, payload in enumerate(BATTERY):
        probe.publish(topics[number % len(topics)], payload, retain=True)
    status = bedboard("status", "--config", operator, "--listen", "1", "--json")
    assert status.returncode == 0, status.stderr
    json.loads(status.stdout)
    text = bedboard("status", "--config", operator, "--listen", "1")
    assert text.returncode == 0 and text.stderr == "", text.stderr
    # a real agent for the ward, junk on its reply topic all along: set still works
    agent = AgentProcess(write_agent(tmp_path, "nrs-icu-unit-1", "nrs/icu/unit-1",
                                     mosquitto.port))
    try:
        assert agent.do("press taken").startswith("accepted taken")
        for payload in BATTERY:
            probe.publish("crs/nrs/icu/unit-1/reply", payload)
        result = bedboard("set", "--config", operator, "nrs/icu/unit-1", "--occupied", "3",
                          "--by", "Sister Das")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("applied: nrs/icu/unit-1 now has 3 occupied")
    finally:
        agent.close()
        for topic in topics:
            probe.publish(topic, b"", retain=True)


# -- what the programs read from files and standard input ----------------------------

@settings(max_examples=80, deadline=None)
@given(data=st.binary(max_size=2000) | st.text(max_size=400).map(str.encode)
       | st.lists(st.sampled_from(["broker:", "  tls:", "  host: [", "display:", "  id: a",
                                   "&a [*a]", "- *x", "board: {hospital: nrs}", "  - !!str",
                                   "agent: {id: x, capacity: 1e9}", "\t", "%YAML 1.1",
                                   "---", "inputs: [{pin: 99}]"]),
                  max_size=12).map(lambda lines: "\n".join(lines).encode()))
def test_a_config_reader_gives_settings_or_a_config_error_for_any_bytes(tmp_path_factory,
                                                                        data):
    from bedboard.errors import ConfigError
    from ops.devices import read_device
    path = tmp_path_factory.mktemp("cfg") / "any.yaml"
    path.write_bytes(data)
    try:
        read_device(str(path))
    except ConfigError as exc:
        assert exc.problems and all(p.startswith("any.yaml:") for p in exc.problems), \
            exc.problems


def test_the_agent_reads_any_line_on_standard_input(tmp_path, mosquitto):
    from .agent_helpers import run_agent
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=10)
    junk = ["press", "press nosuch", "hold taken nan", "hold taken -1", "wait 1e400",
            "wait inf", "close taken", "open", "#", "   ", "x" * 100_000, "press taken extra",
            "\x00\x01", "préss tåken", "press taken"]
    result = run_agent(config, "--simulate", stdin="\n".join(junk) + "\n")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("accepted taken: occupied 11/40"), lines[-3:]
    assert sum(line.startswith("error: line") for line in lines) == len(lines) - 1
