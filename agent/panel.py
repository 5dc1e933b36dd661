"""The ward panel's hardware: buttons, bed contacts, a status LED and an acknowledge signal.

One gpiozero class per physical thing, composed the way gpiozero composes its
own boards:

* :class:`WardButton` — a push button that moves one bed (``freed``,
  ``taken``, ``blocked``, ``unblocked``);
* :class:`BedContact` — one bed's contact or sensor (closed = occupied, or
  the other way round);
* :class:`StatusLED` — steady: connected and delivered; blinking: changes
  waiting to be delivered; blinking fast: the count is being recovered;
  winking (on, with a short gap every 2 s): a bed contact disagrees with the
  count; a short flash every 1.5 s: the count is due for a nurse's check;
  off: not running;
* :class:`AckLED` / :class:`AckBuzzer` — one short pulse: accepted; two long
  ones: refused;
* :class:`WardPanel` — all of them, from the config's ``inputs`` and
  ``outputs``.

Both inputs debounce (and confirm holds) in bedboard's own
:class:`~agent.debounce.EdgeFilter`, not with gpiozero's ``bounce_time``.
The pin factory is always injected; :func:`make_pin_factory` picks the one
a config names, with a clear error instead of a traceback when its library
is missing.
"""

import importlib
import logging
import os
import time

from gpiozero import LED, Buzzer, CompositeDevice, DigitalInputDevice
from gpiozero.mixins import event

from bedboard.errors import AgentError

from .debounce import EdgeFilter, Scheduler
from .events import BedChanged, Pressed, TooShort

_LOG = logging.getLogger(__name__)

_FACTORIES = {
    "lgpio": ("gpiozero.pins.lgpio", "LGPIOFactory", "lgpio"),
    "rpigpio": ("gpiozero.pins.rpigpio", "RPiGPIOFactory", "RPi.GPIO"),
    "pigpio": ("gpiozero.pins.pigpio", "PiGPIOFactory", "pigpio"),
    "native": ("gpiozero.pins.native", "NativeFactory", None),
    "mock": ("gpiozero.pins.mock", "MockFactory", None),
}


def board_model(path="/proc/device-tree/model"):
    """The Raspberry Pi's model string (``Raspberry Pi 5 Model B Rev 1.0``), or ''."""
    try:
        with open(path, "rb") as handle:
            return handle.read().rstrip(b"\0\n").decode("ascii", "replace")
    except OSError:
        return ""


def make_pin_factory(name="auto", model=None):
    """The gpiozero pin factory ``name`` (``auto``: the right one for this board).

    ``auto`` honours ``GPIOZERO_PIN_FACTORY``; otherwise it takes lgpio, the
    factory that works on every Pi and the only one on a Pi 5, falling back
    to RPi.GPIO on older boards.  It never falls back silently to gpiozero's
    "native" factory.  Raises AgentError naming what is missing.
    """
    model = board_model() if model is None else model
    if name == "auto":
        chosen = os.environ.get("GPIOZERO_PIN_FACTORY", "").strip().lower()
        if chosen:
            candidates = [chosen]
        elif "Raspberry Pi 5" in model:
            candidates = ["lgpio"]
        else:
            candidates = ["lgpio", "rpigpio"]
    else:
        candidates = [name]
    failures = []
    for candidate in candidates:
        if candidate not in _FACTORIES:
            failures.append("%s: not a pin factory bed-agent knows (%s)"
                            % (candidate, ", ".join(_FACTORIES)))
            continue
        module_name, class_name, library = _FACTORIES[candidate]
        try:
            module = importlib.import_module(module_name)
            factory = getattr(module, class_name)()
        except ImportError as exc:
            failures.append("%s: the %s library is not installed (%s)"
                            % (candidate, library or candidate, exc))
        except Exception as exc:  # noqa: BLE001 - every library fails its own way
            failures.append("%s: %s" % (candidate, exc))
        else:
            _LOG.info("GPIO through gpiozero's %s pin factory%s", candidate,
                      " on a %s" % model if model else "")
            return factory
    hint = ("install lgpio into bedboard's venv (pip install lgpio, or "
            "pip install '.[pi]'), or use Debian's python3-lgpio through a venv "
            "made with --system-site-packages")
    if not model:
        hint = "this does not look like a Raspberry Pi: try --simulate"
    raise AgentError("no GPIO: %s; %s" % ("; ".join(failures), hint))


# -- inputs ---------------------------------------------------------------

class DebouncedInputMixin:
    """Feeds a DigitalInputDevice's raw edges, timed by the pin, through an EdgeFilter.

    gpiozero hands every edge to ``_fire_events(ticks, new_active)`` with
    ``ticks``, the pin factory's time of the edge (lgpio: the kernel's
    timestamp of the line event; mock pins: when the pin was driven) — not
    when the callback happens to run.  The filter is given that moment, so
    a press and its release delivered together by a starved callback
    thread still count as the press they were.  The filter's first edge
    (gpiozero's own initial call, or an edge that beats it) sets its
    position under the filter's lock, so no edge can fall between "pin
    callback registered" and "position known".  The filter then calls
    :meth:`_confirmed` (and :meth:`_too_short`) once the contact is steady.
    """

    MAX_EDGE_AGE = 60.0  # seconds; an older edge time is taken to be a clock mix-up

    def __init__(self, *args, debounce=0.05, hold=0.0, hold_release=False,
                 scheduler=None, **kwargs):
        self._own_scheduler = scheduler is None
        self._scheduler = scheduler or Scheduler()
        self._filter = EdgeFilter(self._scheduler, debounce, hold,
                                  hold_release=hold_release,
                                  on_change=self._confirmed,
                                  on_too_short=self._too_short, active=None)
        super().__init__(*args, **kwargs)

    def _fire_events(self, ticks, new_active):
        self._filter.edge(new_active, at=self._edge_time(ticks))
        super()._fire_events(ticks, new_active)

    def _edge_time(self, ticks):
        """The ``time.monotonic()`` moment of an edge the pin factory timed ``ticks``."""
        factory = self.pin_factory
        try:
            age = factory.ticks_diff(factory.ticks(), ticks)
        except Exception:  # noqa: BLE001 - a factory without usable ticks: now
            age = 0.0
        if not 0.0 <= age <= self.MAX_EDGE_AGE:
            age = 0.0
        return time.monotonic() - age

    @property
    def debounce(self):
        """Seconds a contact must be steady before a change counts."""
        return self._filter.debounce

    @property
    def hold(self):
        """Seconds a press must be held to count (0: no hold-to-confirm)."""
        return self._filter.hold

    @property
    def confirmed_active(self):
        """The debounced position: True while a press (or closing) is confirmed."""
        return self._filter.active

    def _confirmed(self, active):
        raise NotImplementedError

    def _too_short(self, seconds):
        pass

    def close(self):
        if getattr(self, "_own_scheduler", False):
            self._scheduler.close()
        super().close()


class WardButton(DebouncedInputMixin, DigitalInputDevice):
    """A push button beside the nurse station: one press moves one bed.

    Wired between its GPIO and ground (``pull_up=True``, the default).
    ``when_pressed`` fires once per confirmed press; ``when_too_short``
    when a hold-to-confirm button was let go too early (``last_press``
    says how long it was held).
    """

    def __init__(self, pin=None, *, name, kind, pull_up=True, debounce=0.05,
                 hold=0.0, scheduler=None, pin_factory=None):
        self.name = name
        self.kind = kind
        self.last_press = None
        super().__init__(pin, pull_up=pull_up, debounce=debounce, hold=hold,
                         scheduler=scheduler, pin_factory=pin_factory)

    when_pressed = event("Run when a press is confirmed (debounced, held long enough).")
    when_too_short = event("Run when a press was released before its hold time.")

    @property
    def is_pressed(self):
        """Whether a press is confirmed right now."""
        return self.confirmed_active

    def _confirmed(self, active):
        if active and self.when_pressed:
            self.when_pressed()

    def _too_short(self, seconds):
        self.last_press = seconds
        if self.when_too_short:
            self.when_too_short()


class BedContact(DebouncedInputMixin, DigitalInputDevice):
    """One bed's contact or sensor: its bed is occupied while it is closed.

    ``occupied_when="open"`` reverses that, for sensors that open when a
    patient lies down.  ``hold`` applies both ways: a sensor must be steady
    that long before the bed counts as taken or freed.
    """

    def __init__(self, pin=None, *, name, bed, occupied_when="closed", pull_up=True,
                 debounce=0.05, hold=0.0, scheduler=None, pin_factory=None):
        if occupied_when not in ("closed", "open"):
            raise ValueError("occupied_when must be closed or open, got %r"
                             % (occupied_when,))
        self.name = name
        self.bed = bed
        self.occupied_when = occupied_when
        super().__init__(pin, pull_up=pull_up, debounce=debounce, hold=hold,
                         hold_release=True, scheduler=scheduler,
                         pin_factory=pin_factory)

    when_occupied = event("Run when the bed becomes occupied (the contact is steady).")
    when_vacated = event("Run when the bed becomes vacant (the contact is steady).")

    @property
    def is_occupied(self):
        """Whether the bed is occupied, by the debounced contact."""
        return self.confirmed_active == (self.occupied_when == "closed")

    def _confirmed(self, active):
        if active == (self.occupied_when == "closed"):
            if self.when_occupied:
                self.when_occupied()
        elif self.when_vacated:
            self.when_vacated()


# -- outputs --------------------------------------------------------------

class StatusLED(LED):
    """The panel's status light: steady, blinking, blinking fast, winking, or off."""

    MODES = ("off", "steady", "blinking", "fast", "wink", "ask")

    def __init__(self, pin=None, *, active_high=True, pin_factory=None):
        self.mode = "off"
        super().__init__(pin, active_high=active_high, initial_value=False,
                         pin_factory=pin_factory)

    def show(self, mode):
        """Switch to ``mode`` (one of MODES); nothing happens if it is already shown."""
        if mode == self.mode:
            return
        if mode == "steady":
            self.on()
        elif mode == "blinking":
            self.blink(on_time=0.5, off_time=0.5)
        elif mode == "fast":
            self.blink(on_time=0.1, off_time=0.1)
        elif mode == "wink":
            self.blink(on_time=1.8, off_time=0.2)
        elif mode == "ask":
            self.blink(on_time=0.2, off_time=1.3)
        elif mode == "off":
            self.off()
        else:
            raise ValueError("mode must be one of %s, got %r" % (", ".join(self.MODES), mode))
        self.mode = mode


class AckMixin:
    """The acknowledge signal: one short pulse for accepted, two long for refused."""

    ACCEPTED = (0.15, 0.1, 1)
    REFUSED = (0.5, 0.2, 2)

    def accepted(self):
        """Signal an accepted press (in the background)."""
        on_time, off_time, times = self.ACCEPTED
        self.blink(on_time=on_time, off_time=off_time, n=times, background=True)

    def refused(self):
        """Signal a refused press (in the background)."""
        on_time, off_time, times = self.REFUSED
        self.blink(on_time=on_time, off_time=off_time, n=times, background=True)


class AckLED(AckMixin, LED):
    """An LED beside the buttons that answers each press."""


class AckBuzzer(AckMixin, Buzzer):
    """A buzzer that answers each press: a short beep, or two long ones."""


# -- the panel ------------------------------------------------------------

class WardPanel(CompositeDevice):
    """A ward's panel: its inputs, and the optional status LED and ack signal.

    Built from the config's InputSettings and OutputSettings.  Every
    confirmed press, too-short press and bed change is passed to
    ``on_input`` as a typed event (:mod:`agent.events`).
    """

    def __init__(self, inputs, status_led=None, ack=None, *, pin_factory=None):
        self.on_input = None
        self._scheduler = Scheduler()
        devices, named = [], {}
        what = None
        try:
            for spec in inputs:
                what = "input %s on GPIO%d" % (spec.name, spec.pin)
                devices.append(self._make_input(spec, pin_factory))
            if status_led is not None:
                what = "the status LED on GPIO%d" % status_led.pin
                named["status_led"] = StatusLED(status_led.pin,
                                                active_high=status_led.active_high,
                                                pin_factory=pin_factory)
            if ack is not None:
                what = "the acknowledge %s on GPIO%d" % (ack.kind, ack.pin)
                signal = AckBuzzer if ack.kind == "buzzer" else AckLED
                named["ack"] = signal(ack.pin, active_high=ack.active_high,
                                      pin_factory=pin_factory)
        except BaseException as exc:
            for device in devices + list(named.values()):
                device.close()
            self._scheduler.close()
            if isinstance(exc, Exception):  # gpiozero's, lgpio's, the kernel's
                raise AgentError("cannot set up %s: %s" % (what, exc)) from exc
            raise
        self.inputs = {device.name: device for device in devices}
        super().__init__(*devices, pin_factory=pin_factory, **named)

    def _make_input(self, spec, pin_factory):
        common = dict(name=spec.name, pull_up=spec.pull_up, debounce=spec.debounce,
                      hold=spec.hold, scheduler=self._scheduler,
                      pin_factory=pin_factory)
        if spec.kind == "bed":
            device = BedContact(spec.pin, bed=spec.bed,
                                occupied_when=spec.occupied_when, **common)
            device.when_occupied = lambda: self._emit(
                BedChanged(spec.name, spec.bed, True))
            device.when_vacated = lambda: self._emit(
                BedChanged(spec.name, spec.bed, False))
        else:
            device = WardButton(spec.pin, kind=spec.kind, **common)
            device.when_pressed = lambda: self._emit(Pressed(spec.name, spec.kind))
            device.when_too_short = lambda: self._emit(
                TooShort(spec.name, device.last_press, spec.hold))
        return device

    def _emit(self, item):
        if self.on_input is not None:
            self.on_input(item)

    @property
    def contacts(self):
        """The bed contacts, by input name."""
        return {name: device for name, device in self.inputs.items()
                if isinstance(device, BedContact)}

    def show_status(self, mode):
        """Show ``mode`` on the status LED, when the panel has one."""
        if "status_led" in self._named:
            self.status_led.show(mode)

    def acknowledge(self, accepted):
        """Answer a press on the ack LED or buzzer, when the panel has one."""
        if "ack" in self._named:
            if accepted:
                self.ack.accepted()
            else:
                self.ack.refused()

    def close(self):
        """Switch the outputs off and release every pin."""
        scheduler = getattr(self, "_scheduler", None)
        if scheduler is not None:
            scheduler.close()
        super().close()
