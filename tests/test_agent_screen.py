"""The ward panel's small display: luma devices (the emulator's capture, the real drivers
on luma's no-op bus), what it says in English and Bengali, and an agent driving it.

The pictures of images/panel-*.png are tests/panel_pictures.py's.
"""

import os
import subprocess
import sys
import time

from luma.core.interface.serial import noop
from PIL import Image, ImageChops

from agent.panelview import PanelView, lines
from agent.screen import PanelScreen, ScreenSettings, make_device

from . import panel_pictures
from .agent_helpers import PINS, RunningAgent, wait_state, write_config
from .test_agent_holds import INPUTS

LABEL = panel_pictures.LABEL


class BacklightPins:
    """RPi.GPIO's calls, as an LCD's backlight makes them, for luma.lcd off a Pi."""

    BCM, OUT, LOW, HIGH = 11, 0, 0, 1

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, args))


def test_the_view_in_both_languages_says_what_the_nurse_needs():
    view = PanelView(LABEL, vacant=5, occupied=31, blocked=1, held=2, link="sent",
                     action="held", check_minutes=40)
    said = lines(view, "en")
    assert (said["label"], said["figure"], said["counts"], said["status"]) == (
        "Medicine (Female)", "5", ["occupied 31", "blocked 1", "held 2"],
        "all sent · checked 40 min ago")
    assert (said["notice"], said["alarm"]) == ("bed held for a referral", False)
    said = lines(view, "bn")
    assert said["counts"] == ["ভর্তি 31", "বন্ধ 1", "সংরক্ষিত 2"]
    assert said["notice"] == "রেফারেলের জন্য শয্যা সংরক্ষিত"
    refused = PanelView(LABEL, vacant=0, occupied=37, link="unsent", check_due=True,
                        refusal="no vacant bed to take")
    assert (lines(refused, "en")["notice"], lines(refused, "en")["alarm"]) == (
        "refused: no vacant bed to take", True)
    assert lines(refused, "bn")["notice"] == "হয়নি: নেওয়ার মতো খালি শয্যা নেই"
    due = PanelView(LABEL, vacant=3, occupied=37, link="unsent", check_due=True)
    assert (lines(due, "en")["notice"], lines(due, "en")["status"]) == (
        "CHECK THE COUNT", "NOT SENT")


def test_pictures_of_both_sizes_are_written_by_the_emulator(tmp_path):
    written = panel_pictures.write(str(tmp_path))
    assert len(written) == 3 * 2 * 2 + 3 * 2
    for path in written:
        image = Image.open(path)
        if "oled" in path and "-x3" not in path:
            assert image.size == (128, 64)
        elif "lcd" in path:
            assert image.size == (240, 240)
        assert image.convert("L").getextrema() == (0, 255)      # something drawn
    held = Image.open(str(tmp_path / "panel-oled-128x64-held-en.png")).convert("L")
    bengali = Image.open(str(tmp_path / "panel-oled-128x64-held-bn.png")).convert("L")
    assert ImageChops.difference(held, bengali).getbbox() is not None


def test_held_beds_are_drawn_and_never_dropped_for_room():
    settings = ScreenSettings(driver="ssd1306", width=128, height=64)
    screen = PanelScreen(make_device(settings, serial_interface=noop()), settings)
    with_held = PanelView(LABEL, vacant=2, occupied=31, blocked=1, held=2, link="unsent",
                          check_due=True)
    without = PanelView(LABEL, vacant=2, occupied=31, blocked=1, held=0, link="unsent",
                        check_due=True)
    for language in ("en", "bn"):
        one, other = screen.draw(with_held, language), screen.draw(without, language)
        assert one.mode == "1" and one.size == (128, 64)
        box = ImageChops.difference(one.convert("L"), other.convert("L")).getbbox()
        assert box is not None and 37 <= box[1] and box[3] <= 52, box   # the third band


def test_the_real_drivers_take_the_frames(tmp_path):
    view = PanelView(LABEL, vacant=5, occupied=31, held=1, link="sent")
    for driver, size in (("ssd1306", (128, 64)), ("sh1106", (128, 64)),
                         ("st7789", (240, 240)), ("ili9341", (320, 240))):
        settings = ScreenSettings(driver=driver, width=size[0], height=size[1])
        pins = BacklightPins()
        device = make_device(settings, serial_interface=noop(), gpio=pins)
        screen = PanelScreen(device, settings)
        assert screen.show(view, now=0.0) and not screen.show(view, now=1.0)
        assert screen.show(view, now=settings.page_seconds)      # the Bengali page
        assert screen.frames == 2 and device.size == size
        if driver in ("st7789", "ili9341"):
            assert ("setup", (18, 0)) in pins.calls              # its backlight
        screen.close()


def test_an_agent_shows_its_count_held_beds_and_a_refusal(tmp_path, mosquitto, probe):
    frames = tmp_path / "frames"
    frames.mkdir()
    screen = ("screen: {driver: capture, mode: '1', languages: [en], file: '%s/f-{0:06}.png',"
              " label: {en: Female 2, bn: মহিলা ২}}\n" % frames)
    path = write_config(tmp_path, mosquitto.port, capacity=3, occupied=2, inputs=INPUTS,
                        extra=screen)
    with RunningAgent(path) as running:
        running.wait_ready()
        wait_state(probe, 0)
        feed = running.agent.screen
        assert running.press("held").describe().startswith("accepted held")
        running.wait_delivered()
        deadline = time.monotonic() + 5
        while lines(feed.screen._shown[0], "en")["counts"] != ["occupied 2", "held 1"] \
                or feed.screen._shown[0].link != "sent":
            assert time.monotonic() < deadline, feed.screen._shown
            time.sleep(0.05)
        assert feed.screen._shown[0].action == "held"
        assert running.press("taken").reason.startswith("no vacant bed to take")
        deadline = time.monotonic() + 5
        while feed.screen._shown[0].refusal is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert lines(feed.screen._shown[0], "en")["notice"].startswith(
            "refused: no vacant bed to take")
    pictures = sorted(os.listdir(str(frames)))
    assert len(pictures) >= 3 and Image.open(str(frames / pictures[-1])).size == (128, 64)


def test_an_agent_without_a_display_needs_neither_luma_nor_pygame(tmp_path):
    path = write_config(tmp_path, 1883, inputs="\n".join(
        "  - {name: %s, kind: %s, pin: %d}" % (k, k, p) for k, p in PINS.items()))
    code = ("import sys; from agent.app import WardAgent; from agent.config import "
            "load_agent; s = load_agent(%r); assert s.screen is None; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('luma', 'pygame')))" % path)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout == "[]\n", done.stdout


def test_a_screens_config_is_checked_with_the_panels_pins(tmp_path):
    import pytest
    from agent.config import load_agent
    from bedboard.errors import ConfigError
    path = write_config(tmp_path, 1883, extra="""\
        screen:
          driver: st7789
          dc: 17
          languages: [en, fr]
          label: {en: Female 2, bn: মহিলা ২}
        """)
    with pytest.raises(ConfigError) as caught:
        load_agent(path)
    assert caught.value.problems == [
        "agent.yaml:20: screen.dc: pin 17 is already used by inputs[0] (freed)",
        "agent.yaml:21: screen.languages: must be a list of en and bn, got ['en', 'fr']"]
    path = write_config(tmp_path, 1883, name="ok.yaml", extra="""\
        screen: {driver: sh1106, label: {en: Female 2, bn: মহিলা ২}}
        """)
    screen = load_agent(path).screen
    assert (screen.driver, screen.width, screen.height, screen.label, screen.i2c_address) \
        == ("sh1106", 128, 64, ("Female 2", "মহিলা ২"), 0x3C)
