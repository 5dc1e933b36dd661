"""The agent against a real, private Mosquitto — presses, refusals, set commands, faults."""

import logging
import shutil
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.events import Accepted, Ignored, Refused
from agent.ward import WardCounts
from bedboard.mosquitto import PrivateBroker
from bedboard.payloads import WardEvent, WardState

from .agent_helpers import (EVENT, SET, STATE, STATUS, RunningAgent, set_command,
                            states, wait_events, wait_state, write_config)
from .probe import Probe


class SessionProbe(Probe):
    """A Probe with a persistent session: the broker keeps what it missed while away."""

    def __init__(self, host, port):
        super().__init__(host, port, subscriptions=("crs/#",))
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="session-probe",
                                  clean_session=False)
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.on_message = self._on_message
        self.client.connect_async(host, port, keepalive=10)


def test_a_press_publishes_one_state_and_one_event(tmp_path, mosquitto, probe):
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=31)
    with RunningAgent(config) as running:
        running.wait_ready()
        first = wait_state(probe, 0)      # a first start: the config's count, seq 0
        assert (first.capacity, first.occupied, first.blocked) == (40, 31, 0)
        outcome = running.press("taken")
        assert isinstance(outcome, Accepted)
        assert outcome.describe() == "accepted taken: occupied 32/40, vacant 8, seq 1"
        state = wait_state(probe, 1)
        assert (state.occupied, state.agent) == (32, "nrs-medicine-female-2")
        (event,) = wait_events(probe, 1)
        assert (event.kind, event.bed, event.occupied, event.seq) == ("taken", None, 32, 1)
        assert event.at == state.at
        assert set(probe.wait_topic(STATUS)) == {b"online"}   # once, or again as
        running.wait_delivered()                             # its start-up's barrier
        assert running.agent.ledger.outbox_count == 0   # deleted once acknowledged
    probe.wait_for(lambda ms: [m for m in ms if m.topic == STATUS
                               and m.payload == b"offline"])
    statuses = probe.on(STATUS)
    assert statuses[-1] == b"offline" and set(statuses[:-1]) == {b"online"}
    retained = [m for m in probe.messages if m.topic == STATE]
    assert all(m.qos == 1 for m in retained + [m for m in probe.messages
                                               if m.topic == EVENT])


def test_a_press_at_a_bound_is_refused_and_publishes_nothing(tmp_path, mosquitto, probe):
    config = write_config(tmp_path, mosquitto.port, capacity=2, occupied=2, extra="""\
        outputs:
          ack: {pin: 6, kind: buzzer}
        """)
    with RunningAgent(config) as running:
        running.wait_ready()
        wait_state(probe, 0)
        running.wait_delivered()
        before = len(probe.messages)
        buzzer = running.factory.pin(6)
        buzzer.clear_states()
        assert running.press("taken") == Refused("taken", "no vacant bed to take")
        time.sleep(1.5)
        beeps = [s.timestamp for s in buzzer.states[2::2]]
        assert len(beeps) == 2 and all(0.4 < b < 0.7 for b in beeps)  # two long beeps
        assert running.press("unblocked") == Refused("unblocked", "no blocked bed to unblock")
        time.sleep(0.5)
        assert len(probe.messages) == before       # no state, no event
        assert running.agent.ledger.seq == 0
        assert running.press("freed").describe() == (
            "accepted freed: occupied 1/2, vacant 1, seq 1")


def test_bouncing_contacts_count_one_press(tmp_path, mosquitto, probe):
    config = write_config(tmp_path, mosquitto.port)
    with RunningAgent(config) as running:
        running.wait_ready()
        pin = running.pin("taken")
        for _ in range(10):
            pin.drive_low()
            time.sleep(0.002)
            pin.drive_high()
            time.sleep(0.002)
        pin.drive_low()
        time.sleep(0.1)
        for _ in range(5):
            pin.drive_high()
            time.sleep(0.002)
            pin.drive_low()
            time.sleep(0.002)
        pin.drive_high()
        assert running.outcome("taken").state.seq == 1
        running.no_outcome(0.5)
        running.wait_delivered()
        assert [e.seq for e in wait_events(probe, 1)] == [1]


def test_set_commands_valid_and_invalid(tmp_path, mosquitto, probe, caplog):
    caplog.set_level(logging.WARNING)
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=31)
    with RunningAgent(config) as running:
        running.wait_ready()
        wait_state(probe, 0)
        set_command(probe, {"occupied": 30, "capacity": 42, "blocked": 1,
                            "by": "bed-manager"})
        state = wait_state(probe, 1)
        assert (state.capacity, state.occupied, state.blocked) == (42, 30, 1)
        (event,) = wait_events(probe, 1)
        assert (event.kind, event.capacity, event.occupied) == ("set", 42, 30)
        assert running.outcome().input == "set by bed-manager"

        for bad in (b"not json", b"[1, 2]", b'{"occupied": 50}', b'{"occupied": "30"}',
                    b'{"occupied": 3.5}', b'{"by": "bed-manager"}', b'{"blocked": -1}',
                    b'{"capacity": 100001}', b"\xff\xfe", b"{}" * 3000):
            caplog.clear()
            set_command(probe, bad)
            deadline = time.monotonic() + 5
            while not any("ignored a set command" in r.getMessage()
                          for r in caplog.records):
                assert time.monotonic() < deadline, "no warning for %r" % bad[:30]
                time.sleep(0.01)
            running.agent._set_warnings._last = None   # no rate limit between cases
        assert running.agent.ledger.seq == 1 and len(states(probe)) == 2
        assert running.press("freed").state.seq == 2   # still running
        # A set command published retained is applied once, when it is new...
        set_command(probe, {"occupied": 20}, retain=True)
        assert wait_state(probe, 3).occupied == 20
    # ...but never again when the broker hands it out on a later connect.
    caplog.clear()
    with RunningAgent(config) as running:
        running.wait_ready()
        deadline = time.monotonic() + 5
        while "ignored a retained set command" not in caplog.text:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert running.agent.ledger.seq == 3
    probe.publish(SET, b"", retain=True)     # clear it from the broker again


def test_warnings_about_bad_set_commands_are_rate_limited(tmp_path, mosquitto, probe,
                                                         caplog):
    caplog.set_level(logging.WARNING)
    config = write_config(tmp_path, mosquitto.port)
    with RunningAgent(config) as running:
        running.wait_checked()        # subscribed, and past the check of its count
        for _ in range(20):
            set_command(probe, b"garbage")
        set_command(probe, {"occupied": 12})
        wait_state(probe, 1)
    assert sum("ignored a set command" in r.getMessage() for r in caplog.records) == 1


def test_broker_stopped_while_presses_continue_then_restarted(tmp_path):
    broker = PrivateBroker(workdir=str(tmp_path / "mosquitto"), persistence=True)
    broker.start()
    try:
        config = write_config(tmp_path, broker.port, capacity=40, occupied=10, extra="""\
            outputs:
              status_led: {pin: 5}
            """)
        with SessionProbe(broker.host, broker.port) as probe, \
                RunningAgent(config) as running:
            running.wait_ready()
            for _ in range(3):
                running.press("taken")
            running.wait_delivered()
            led = running.factory.pin(5)
            time.sleep(0.6)
            assert led.state                       # steady: connected and delivered
            broker.stop()
            time.sleep(0.3)
            for kind in ("taken", "freed", "taken", "taken", "blocked"):
                assert isinstance(running.press(kind), Accepted)
            assert running.agent.publisher.undelivered >= 5
            led.clear_states()
            time.sleep(1.2)
            assert len(led.states) >= 2            # blinking: changes waiting
            broker.start()
            running.wait_delivered(15)
            time.sleep(0.6)
            assert led.state
            got = wait_events(probe, 8, timeout=15)
        seqs = [e.seq for e in got]
        first_seen = sorted(set(seqs), key=seqs.index)
        assert first_seen == list(range(1, 9))     # contiguous, in order; dupes allowed
        final = wait_state(probe, 8)
        assert (final.occupied, final.blocked) == (15, 1)
        assert running.agent.ledger.outbox_count == 0
    finally:
        broker.close()


def test_a_lost_ledger_is_recovered_from_the_broker(tmp_path, mosquitto, probe, caplog):
    caplog.set_level(logging.INFO)
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=10)
    with RunningAgent(config) as running:
        running.wait_ready()
        for kind in ("taken", "taken", "blocked"):
            running.press(kind)
        running.wait_delivered()
    shutil.rmtree(tmp_path / "state")             # the SD card was swapped
    caplog.clear()
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=0)
    with RunningAgent(config) as running:
        running.wait_ready()
        ledger = running.agent.ledger
        assert (ledger.counts, ledger.seq, ledger.origin) == (WardCounts(40, 12, 1), 3,
                                                              "broker")
        assert "recovered the count from the broker's retained state" in caplog.text
        assert running.press("freed").state.seq == 4
        running.wait_delivered()
    seqs = [s.seq for s in states(probe)]
    assert seqs == sorted(seqs)                   # seq never went back


def test_no_ledger_and_no_broker_refuses_presses_until_the_broker_answers(
        tmp_path, mosquitto, probe, caplog):
    caplog.set_level(logging.INFO)
    mosquitto.stop()
    config = write_config(tmp_path, mosquitto.port, occupied=5)
    with RunningAgent(config) as running:
        outcome = running.press("taken")
        assert isinstance(outcome, Refused)
        assert outcome.reason.startswith("the count is being recovered from the broker")
        assert not running.agent.ready
        mosquitto.start()
        running.wait_ready(10)
        assert "first start, from the config — occupied 5/40, vacant 35, seq 0" \
            in caplog.text
        assert running.press("taken").state.seq == 1


def test_the_state_is_republished_every_heartbeat(tmp_path, mosquitto, probe):
    config = write_config(tmp_path, mosquitto.port)
    config_text = open(config).read().replace("heartbeat: 60", "heartbeat: 1")
    open(config, "w").write(config_text)
    with RunningAgent(config) as running:
        running.wait_ready()
        probe.wait_for(lambda ms: len([m for m in ms if m.topic == STATE]) >= 3, 4)
    assert {WardState.parse(p).seq for p in probe.on(STATE)} == {0}


def test_a_changed_capacity_in_the_config_is_applied_once(tmp_path, mosquitto, probe):
    config = write_config(tmp_path, mosquitto.port, capacity=40, occupied=30)
    with RunningAgent(config) as running:
        running.wait_ready()
    config = write_config(tmp_path, mosquitto.port, capacity=44, occupied=30)
    with RunningAgent(config) as running:
        running.wait_ready()
        assert running.agent.ledger.counts == WardCounts(44, 30)
        running.wait_delivered()
        set_command(probe, {"capacity": 50})      # the bed manager's word is later
        wait_state(probe, 2)
    with RunningAgent(config) as running:
        running.wait_ready()
        assert running.agent.ledger.counts == WardCounts(50, 30)   # not reverted
        assert running.agent.ledger.seq == 2
    config = write_config(tmp_path, mosquitto.port, capacity=20, occupied=0)
    with RunningAgent(config) as running:                # below what is occupied
        running.wait_ready()
        assert running.agent.ledger.counts == WardCounts(50, 30)
    got = wait_events(probe, 2)
    assert [(e.kind, e.capacity, e.seq) for e in got] == [("set", 44, 1), ("set", 50, 2)]


BEDS = """\
  - {name: freed, kind: freed, pin: 17}
  - {name: bed-12, kind: bed, pin: 22, bed: "12"}
  - {name: bed-14, kind: bed, pin: 23, bed: "14"}"""


def test_bed_contacts_count_and_a_change_while_off_is_caught_up(tmp_path, mosquitto,
                                                                 probe):
    config = write_config(tmp_path, mosquitto.port, capacity=10, occupied=3, inputs=BEDS)
    with RunningAgent(config) as running:
        running.wait_ready()
        running.pin("bed-12").drive_low()            # closed: occupied
        outcome = running.outcome("bed-12")
        assert outcome.describe() == ("accepted bed-12 (bed 12 occupied): occupied 4/10,"
                                      " vacant 6, seq 1")
        running.wait_delivered()
    # Off, bed 12 was vacated (its contact is open again when the agent starts).
    with RunningAgent(config) as running:
        running.wait_ready()
        assert running.agent.ledger.counts == WardCounts(10, 3)
        running.wait_delivered()
        running.pin("bed-14").drive_low()
        assert running.outcome("bed-14").state.seq == 3
        running.pin("bed-14").drive_high()
        assert running.outcome("bed-14").state.seq == 4
        running.wait_delivered()
    got = wait_events(probe, 4)   # the broker has them; the probe gets them just after
    assert [(e.kind, e.bed, e.occupied) for e in got] == [
        ("sensor", "12", 4), ("sensor", "12", 3), ("sensor", "14", 4),
        ("sensor", "14", 3)]


def test_a_hold_to_confirm_button_on_the_broker(tmp_path, mosquitto, probe):
    inputs = "  - {name: freed, kind: freed, pin: 17, hold: 0.4}"
    config = write_config(tmp_path, mosquitto.port, inputs=inputs)
    with RunningAgent(config) as running:
        running.wait_ready()
        outcome = running.press("freed", 0.1)
        assert isinstance(outcome, Ignored) and "hold it for 0.4 s" in outcome.reason
        assert running.press("freed", 0.5).state.seq == 1
        running.wait_delivered()
    assert [e.seq for e in wait_events(probe, 1)] == [1]


def test_events_on_the_wire_parse(tmp_path, mosquitto, probe):
    config = write_config(tmp_path, mosquitto.port)
    with RunningAgent(config) as running:
        running.wait_ready()
        running.press("blocked")
        running.wait_delivered()
    for payload in probe.on(EVENT):
        assert WardEvent.parse(payload).kind == "blocked"


@pytest.mark.parametrize("kind", ["taken"])
def test_the_ledger_is_written_before_the_press_is_acknowledged(tmp_path, mosquitto,
                                                               kind):
    config = write_config(tmp_path, mosquitto.port)
    with RunningAgent(config) as running:
        running.wait_ready()
        outcome = running.press(kind)
        from agent.ledger import Ledger
        other = Ledger.open(running.settings.state_dir, running.settings.ward)
        assert other.seq == outcome.state.seq == 1   # already on disk, seen from outside
        other.close()


def test_a_ledger_behind_the_broker_is_reported(tmp_path, mosquitto, probe, caplog):
    caplog.set_level(logging.ERROR)
    config = write_config(tmp_path, mosquitto.port)
    with RunningAgent(config) as running:
        running.wait_ready()
        running.wait_delivered()
    shutil.copytree(tmp_path / "state", tmp_path / "old-copy")
    with RunningAgent(config) as running:
        running.wait_ready()
        running.press("taken")
        running.wait_delivered()
    shutil.rmtree(tmp_path / "state")
    shutil.copytree(tmp_path / "old-copy", tmp_path / "state")  # restored from a backup
    with RunningAgent(config) as running:
        running.wait_ready()
        deadline = time.monotonic() + 5
        while "the broker holds seq 1 for ward nrs/medicine/female-2" not in caplog.text:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.01)
    caplog.clear()
    shutil.rmtree(tmp_path / "state")
    with RunningAgent(config) as running:          # recovered: all is well again
        running.wait_ready()
        running.press("freed")
        time.sleep(0.3)
    assert [r for r in caplog.records if r.name.startswith("agent")] == []
