"""The panel on gpiozero's mock pins: our own debounce, hold-to-confirm, outputs."""

import queue
import time

import pytest
from gpiozero.pins.mock import MockFactory, MockPin
from gpiozero.pins.pi import PiPin

from agent.config import InputSettings, OutputSettings
from agent.debounce import EdgeFilter, Scheduler
from agent.events import BedChanged, Pressed, TooShort
from agent.panel import (AckBuzzer, AckLED, BedContact, StatusLED, WardButton,
                         WardPanel, make_pin_factory)
from bedboard.errors import AgentError


@pytest.fixture
def factory():
    pins = MockFactory()
    yield pins
    pins.close()


@pytest.fixture
def panel(factory):
    board = WardPanel([InputSettings("taken", "taken", 27),
                       InputSettings("freed", "freed", 17, hold=0.3),
                       InputSettings("bed-12", "bed", 22, bed="12"),
                       InputSettings("bed-14", "bed", 23, bed="14", occupied_when="open",
                                     pull_up=False)],
                      OutputSettings(5), OutputSettings(6, "buzzer"), pin_factory=factory)
    board.on_input = GOT.put
    yield board
    board.close()
    collect(0)


GOT = queue.Queue()


def collect(wait=0.15):
    """What the panel reported (after ``wait`` seconds)."""
    time.sleep(wait)
    items = []
    while not GOT.empty():
        items.append(GOT.get())
    return items


def bounce(pin, times=8, gap=0.001):
    for _ in range(times):
        pin.drive_low()
        time.sleep(gap)
        pin.drive_high()
        time.sleep(gap)


def test_a_bouncing_press_counts_once(panel, factory):
    pin = factory.pin(27)
    bounce(pin)
    pin.drive_low()
    time.sleep(0.1)
    bounce(pin, 5)      # the release bounces too
    assert collect() == [Pressed("taken", "taken")]


def test_glitches_shorter_than_debounce_never_count(panel, factory):
    bounce(factory.pin(27), times=20)
    assert collect() == []


def test_presses_after_a_steady_release_each_count(panel, factory):
    pin = factory.pin(27)
    for _ in range(3):
        pin.drive_low()
        time.sleep(0.07)
        pin.drive_high()
        time.sleep(0.07)
    assert collect() == [Pressed("taken", "taken")] * 3


def test_hold_to_confirm_counts_only_a_long_enough_press(panel, factory):
    pin = factory.pin(17)
    pin.drive_low()
    time.sleep(0.15)              # longer than debounce, shorter than hold
    pin.drive_high()
    (too_short,) = collect()
    assert isinstance(too_short, TooShort) and too_short.input == "freed"
    assert 0.14 < too_short.seconds < 0.3 and too_short.hold == 0.3
    pin.drive_low()
    time.sleep(0.35)
    assert collect(0) == [Pressed("freed", "freed")]  # while still held
    pin.drive_high()
    assert collect() == []
    bounce(pin)                  # a knock is not even "too short"
    assert collect() == []


def test_bed_contacts_report_occupied_and_vacant(panel, factory):
    contact = panel.inputs["bed-12"]
    assert isinstance(contact, BedContact) and not contact.is_occupied
    bounce(factory.pin(22))
    factory.pin(22).drive_low()    # closed: occupied
    assert collect() == [BedChanged("bed-12", "12", True)]
    assert contact.is_occupied
    factory.pin(22).drive_high()
    assert collect() == [BedChanged("bed-12", "12", False)]


def test_a_contact_can_mean_occupied_when_open(panel, factory):
    contact = panel.inputs["bed-14"]    # pulled down: open is low, and means occupied
    assert contact.is_occupied
    factory.pin(23).drive_high()        # closed
    assert collect() == [BedChanged("bed-14", "14", False)]
    assert not contact.is_occupied


def test_hold_makes_a_bed_sensor_steady_both_ways():
    changes = []
    scheduler = Scheduler()
    edges = EdgeFilter(scheduler, debounce=0.01, hold=0.1, hold_release=True,
                       on_change=changes.append)
    edges.edge(True)
    time.sleep(0.05)
    edges.edge(False)           # someone sat on the bed for a moment
    time.sleep(0.15)
    assert changes == []
    edges.edge(True)
    time.sleep(0.15)
    edges.edge(False)
    time.sleep(0.05)
    assert changes == [True]    # not yet vacated: must be open for the hold
    time.sleep(0.1)
    assert changes == [True, False]
    scheduler.close()


def test_zero_debounce_passes_every_edge_at_once():
    changes = []
    edges = EdgeFilter(Scheduler(), debounce=0, on_change=changes.append)
    edges.edge(True)
    edges.edge(False)
    assert changes == [True, False]
    with pytest.raises(ValueError):
        EdgeFilter(Scheduler(), debounce=-1)


def test_outputs(panel, factory):
    assert isinstance(panel.status_led, StatusLED)
    assert isinstance(panel.ack, AckBuzzer)
    led = factory.pin(5)
    panel.show_status("steady")
    assert led.state
    panel.show_status("blinking")
    time.sleep(1.2)
    assert [s.state for s in led.states[-3:]] in ([True, False, True], [False, True, False])
    panel.show_status("off")
    assert not led.state
    buzzer = factory.pin(6)
    buzzer.clear_states()
    panel.acknowledge(True)
    time.sleep(0.3)
    assert [s.state for s in buzzer.states] == [False, True, False]   # one short beep
    assert 0.1 < buzzer.states[2].timestamp < 0.3
    buzzer.clear_states()
    panel.acknowledge(False)
    time.sleep(1.4)
    assert [s.state for s in buzzer.states] == [False, True, False, True, False]
    assert all(0.4 < s.timestamp < 0.7 for s in buzzer.states[2::2])  # two long


def test_buttons_are_gpiozero_devices(factory):
    with WardButton(4, name="taken", kind="taken", pin_factory=factory) as button:
        assert not button.is_pressed and button.debounce == 0.05 and button.hold == 0
        pressed = []
        button.when_pressed = lambda: pressed.append(True)
        factory.pin(4).drive_low()
        time.sleep(0.1)
        assert pressed == [True] and button.is_pressed
    assert button.closed
    with AckLED(4, pin_factory=factory) as led:
        led.accepted()


def test_a_panel_that_fails_half_way_releases_its_pins(factory):
    with pytest.raises(AgentError, match="^cannot set up input x on GPIO27: "):
        WardPanel([InputSettings("taken", "taken", 27), InputSettings("x", "freed", 27)],
                  pin_factory=factory)
    WardPanel([InputSettings("taken", "taken", 27)], pin_factory=factory).close()


def test_pin_factory_choice_is_explicit_and_clear(monkeypatch):
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    assert type(make_pin_factory("mock")).__name__ == "MockFactory"
    with pytest.raises(AgentError) as caught:
        make_pin_factory("auto", model="Raspberry Pi 5 Model B Rev 1.0")
    assert str(caught.value).startswith(
        "no GPIO: lgpio: the lgpio library is not installed")
    assert "rpigpio" not in str(caught.value)   # a Pi 5 needs lgpio; nothing else
    with pytest.raises(AgentError, match="this does not look like a Raspberry Pi: "
                                         "try --simulate"):
        make_pin_factory("auto", model="")
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    assert type(make_pin_factory("auto", model="")).__name__ == "MockFactory"


class LateMockPin(MockPin):
    """A mock pin whose edge callbacks are held back, like a starved callback thread.

    The pin still times each edge when it happens (gpiozero's ``ticks``);
    :meth:`deliver` hands the held edges over, all at once.
    """

    def __init__(self, factory, info):
        super().__init__(factory, info)
        self.held = []
        self.holding = False

    def _call_when_changed(self):
        if self.holding:
            self.held.append((self._last_change, self._state))
        else:
            super()._call_when_changed()

    def deliver(self):
        held, self.held, self.holding = self.held, [], False
        for ticks, state in held:
            PiPin._call_when_changed(self, ticks, state)


def test_a_press_delivered_late_with_its_release_still_counts():
    # Issue 12 #12: edges were timed when the callback ran; press and release
    # delivered together measured ~0 s and neither a press nor a refusal came.
    factory = MockFactory(pin_class=LateMockPin)
    got = []
    try:
        button = WardButton(27, name="taken", kind="taken", pin_factory=factory)
        button.when_pressed = lambda: got.append("pressed")
        pin = factory.pin(27)
        pin.holding = True
        pin.drive_low()
        time.sleep(0.12)           # held for more than the 0.05 s debounce
        pin.drive_high()
        time.sleep(0.1)
        assert got == []           # nothing delivered yet
        pin.deliver()              # both edges at once, 0.1 s late
        time.sleep(0.15)
        assert got == ["pressed"]
        button.close()
    finally:
        factory.close()


def test_a_knock_delivered_late_is_still_a_knock():
    factory = MockFactory(pin_class=LateMockPin)
    got = []
    try:
        button = WardButton(27, name="taken", kind="taken", pin_factory=factory)
        button.when_pressed = lambda: got.append("pressed")
        pin = factory.pin(27)
        pin.holding = True
        pin.drive_low()
        time.sleep(0.01)           # shorter than debounce: a bounce
        pin.drive_high()
        time.sleep(0.2)
        pin.deliver()
        time.sleep(0.15)
        assert got == []
        button.close()
    finally:
        factory.close()


def test_a_contact_closing_while_the_panel_starts_is_not_lost(factory):
    # Issue 12 #15: the filter was reset to the pin's position, read after
    # gpiozero had registered its edge callback; a contact that closed just
    # after that read was lost until it moved again.  Close it exactly then:
    # on the first read of the pin after gpiozero's initial event.
    got = []

    class RacingContact(BedContact):
        initial_events = 0
        closed = False

        def _fire_events(self, ticks, new_active):
            super()._fire_events(ticks, new_active)
            RacingContact.initial_events += 1

        @property
        def is_active(self):
            value = super().is_active
            if RacingContact.initial_events == 1 and not RacingContact.closed:
                RacingContact.closed = True
                self.pin.drive_low()      # the contact closes just after the read
            return value

    contact = RacingContact(22, name="bed-12", bed="12", pin_factory=factory)
    contact.when_occupied = lambda: got.append("occupied")
    assert contact.is_active is not None     # the first read after start (if any)
    time.sleep(0.15)
    assert RacingContact.closed and contact.is_occupied and got == ["occupied"]
    contact.close()


def test_an_edge_older_than_one_already_heard_is_ignored():
    changes = []
    scheduler = Scheduler()
    edges = EdgeFilter(scheduler, debounce=0.02, on_change=changes.append, active=None)
    now = time.monotonic()
    edges.edge(True, at=now)          # the first edge only sets the position
    edges.edge(False, at=now - 1.0)   # a stale report from before it
    time.sleep(0.1)
    assert changes == [] and edges.active
    edges.edge(False, at=time.monotonic())
    time.sleep(0.1)
    assert changes == [False]
    scheduler.close()
