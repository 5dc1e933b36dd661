"""The whole board: from a real Mosquitto through a running display to pixels.

The display runs as its own process (``python -m display``), exactly as an
operator runs it; what it drew is read back from its snapshots.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from datetime import datetime, timezone
from types import SimpleNamespace

import pygame
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedboard.link import Received
from bedboard.mosquitto import PrivateBroker
from bedboard.payloads import WardState
from bedboard.topics import WardKey, ward_topic
from display import config
from display.app import BoardApp
from display.fonts import FontBook
from display.layout import plan
from display.render import Palette
from display.text import TextPainter

from .display_helpers import (Publisher, display_command, display_env, figure_pixels,
                              shows_figure, wait_for_file, ward_state)
from .probe import Probe

PALETTE = Palette()
WARDS = {WardKey("nrs", "medicine", "male"): ("nrs-medicine-male", 40, 31),
         WardKey("nrs", "icu", "unit-1"): ("nrs-icu-unit-1", 12, 12),
         WardKey("nrs", "surgery", "male"): ("nrs-surgery-male", 30, 22)}
BOARD_YAML = """\
    display:
      id: test-lobby
      title: {en: "Test Hospital", bn: "পরীক্ষা হাসপাতাল"}
      size: [1280, 720]
      burn_in: {pixels: 0}
    broker: {host: 127.0.0.1, port: 1883}
    board:
      hospital: nrs
      stale_after: 600
      tiles:
        - {department: medicine, wards: [male], label: {en: Medicine, bn: মেডিসিন}}
        - {department: icu, label: {en: ICU, bn: আইসিইউ}}
        - {department: surgery, label: {en: Surgery, bn: সার্জারি}}
    """


@pytest.fixture(scope="module")
def painter():
    pygame.font.init()
    return TextPainter(FontBook())


def write_config(folder, text=BOARD_YAML, name="board.yaml"):
    path = os.path.join(str(folder), name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent(text))
    return path


def publish_wards(publisher, wards=WARDS):
    for key, (agent, capacity, occupied) in wards.items():
        publisher.status(agent, True)
        publisher.state(key, ward_state(agent, capacity, occupied))


def layout_for(count=3, banner=False, size=(1280, 720)):
    return plan(size, count, 2, banner=banner, message=False)


def load(path):
    return pygame.image.load(path)


def start_board(config_path, broker, out, every="0.3", log=None, **env):
    handle = open(log or os.devnull, "w", encoding="utf-8")  # pylint: disable=consider-using-with
    with handle:
        return subprocess.Popen(  # pylint: disable=consider-using-with
            display_command(config_path, broker, "--snapshot", out, "--snapshot-every", every),
            env=display_env(**env), stdout=handle, stderr=handle, start_new_session=True)


def stop(process, timeout=20):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


# -- one snapshot ----------------------------------------------------------------

def test_a_snapshot_from_a_real_broker_shows_every_tile_s_figure(mosquitto, tmp_path, painter):
    with Publisher(mosquitto.host, mosquitto.port) as publisher:
        publish_wards(publisher)
    out = str(tmp_path / "board.png")
    started = time.monotonic()
    result = subprocess.run(display_command(write_config(tmp_path), mosquitto, "--snapshot",
                                            out, "--wait", "10"),
                            env=display_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 8        # it did not wait out --wait: all had data
    assert "every tile has data" in result.stderr
    surface = load(out)
    assert surface.get_size() == (1280, 720)
    layout = layout_for()
    expected = [("9", PALETTE.available), ("0", PALETTE.full), ("8", PALETTE.available)]
    for slot, (text, look) in zip(layout.slots, expected):
        assert shows_figure(painter, surface, slot, layout, text, look), text


def test_finding_10_a_flood_of_device_statuses_cannot_starve_the_states(tmp_path, painter):
    """1,100 retained statuses of other devices, and a queue of 1,000 per client.

    A board that subscribed to every ``{p}/device/+/status`` first got its
    queue filled with them ("Outgoing messages are being dropped") and not a
    single state.  It now subscribes to the states, then to the statuses of
    the agents they name.
    """
    broker = PrivateBroker(workdir=str(tmp_path / "mosquitto"),
                           extra_config=["max_queued_messages 1000",
                                         "max_inflight_messages 20"]).start()
    try:
        with Publisher(broker.host, broker.port) as publisher:
            for number in range(1100):
                publisher.client.publish("crs/device/other-%04d/status" % number, b"online",
                                         qos=1, retain=True)
            publish_wards(publisher)
        out = str(tmp_path / "board.png")
        result = subprocess.run(display_command(write_config(tmp_path), broker, "--snapshot",
                                                out, "--wait", "10"),
                                env=display_env(), capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        assert "every tile has data" in result.stderr
        layout = layout_for()
        assert shows_figure(painter, load(out), layout.slots[0], layout, "9",
                            PALETTE.available)
    finally:
        broker.close()


def test_the_board_subscribes_to_the_states_then_to_the_statuses_of_their_agents(tmp_path):
    subscribed = []

    class Link(_NoLink):
        def subscribe(self, *topics):
            subscribed.extend(topics)

    app = BoardApp(config.read(write_config(tmp_path)), link_factory=Link,
                   clock_synced=lambda: True)
    try:
        assert app.subscriptions() == ["crs/nrs/icu/+/state", "crs/nrs/medicine/+/state",
                                       "crs/nrs/surgery/+/state"]
        assert not any("device" in topic for topic in app.subscriptions())
        app.feed.on_connection(True)
        for key, (agent, capacity, occupied) in WARDS.items():
            app.feed.on_message(Received(ward_topic("crs", key, "state"),
                                         ward_state(agent, capacity, occupied).to_json(),
                                         True))
        app.update()
        assert sorted(subscribed) == ["crs/device/%s/status" % agent
                                      for agent, _, _ in sorted(WARDS.values())]
        app.update()
        assert len(subscribed) == 3              # once each
    finally:
        app.close()


def test_a_snapshot_without_a_broker_draws_what_it_knows_and_exits_0(tmp_path):
    out = str(tmp_path / "board.png")
    port = PrivateBroker().port        # a free port nobody listens on
    result = subprocess.run(
        [sys.executable, "-m", "display", "--config",
         write_config(tmp_path), "--broker", "127.0.0.1:%d" % port, "--snapshot", out,
         "--wait", "0.5"], env=display_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    surface = load(out)
    layout = layout_for(banner=True)
    banner = surface.subsurface(pygame.Rect(layout.banner.x, layout.banner.y,
                                            layout.banner.w, layout.banner.h))
    assert pygame.mask.from_threshold(banner, PALETTE.banner, (2, 2, 2, 255)).count() > 1000
    assert "Traceback" not in result.stderr


# -- a running display -------------------------------------------------------------

@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """A board process with snapshots every 0.3 s, on its own broker, with data."""
    folder = tmp_path_factory.mktemp("running")
    broker = PrivateBroker(workdir=str(folder / "mosquitto")).start()
    publisher = Publisher(broker.host, broker.port)
    publish_wards(publisher)
    out, log = str(folder / "board.png"), str(folder / "board.log")
    process = start_board(write_config(folder), broker, out, log=log)
    assert wait_for_file(out, 30), open(log, encoding="utf-8").read()
    yield SimpleNamespace(broker=broker, publisher=publisher, process=process, out=out,
                          log=log)
    publisher.close()
    stop(process)
    broker.close()


def fresh_snapshot(running, timeout=10):
    """A snapshot written after now."""
    now = time.time()
    assert wait_for_file(running.out, timeout, newer_than=now + 0.01)
    time.sleep(0.05)
    return load(running.out)


def test_a_change_reaches_the_picture_within_a_refresh(running, painter):
    layout = layout_for()
    agent, capacity, _ = WARDS[WardKey("nrs", "icu", "unit-1")]
    # the wards' heartbeat first: a rise is news only from a ward that has
    # spoken live to this board (its retained copy at start is not enough)
    publish_wards(running.publisher)
    running.publisher.state(WardKey("nrs", "icu", "unit-1"),
                            ward_state(agent, capacity, 9, seq=2, minutes_ago=0))
    sent = time.time()
    surface = fresh_snapshot(running)
    assert time.time() - sent < 2.0        # a snapshot is written every 0.3 s
    assert shows_figure(painter, surface, layout.slots[1], layout, "3", PALETTE.few_left)
    # a rise from 0: highlighted
    border = surface.get_at((layout.slots[1].x + 1, layout.slots[1].y + layout.slots[1].h // 2))
    assert tuple(border)[:3] == PALETTE.highlight


def _drops_seen(log):
    with open(log, encoding="utf-8") as handle:
        return re.findall(r"WARNING display\.feed: dropped a message on .*? \((.+?)\):",
                          handle.read())


# Mosquitto disconnects a client that publishes on a topic with control
# characters or non-characters: the publisher here stays within what a broker passes on.
topic_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Co"),
                                   blacklist_characters="+#"), max_size=12)
bad_topics = st.one_of(
    st.just("crs/nrs/medicine/male/state"),
    st.builds("crs/nrs/medicine/{}/state".format, topic_text),
    st.builds("crs/device/{}/status".format, topic_text))
bad_payloads = st.one_of(
    st.binary(max_size=200), st.binary(min_size=4097, max_size=5000),
    st.sampled_from([b"", b"null", b"[]", b"{}", b'{"v": 2}', b'{"v": "1"}',
                     b'{"v":1,"capacity":-1,"occupied":0,"seq":1,'
                     b'"at":"2026-11-25T18:00:00Z","agent":"a"}',
                     b'{"v":1,"capacity":10,"occupied":11,"seq":1,'
                     b'"at":"2026-11-25T18:00:00Z","agent":"a"}',
                     b'{"v":1,"capacity":10,"occupied":1,"seq":-5,'
                     b'"at":"2026-11-25T18:00:00Z","agent":"a"}',
                     b'{"v":1,"capacity":1e400,"occupied":1,"seq":1}',
                     b'{"v":1,"capacity":10,"occupied":1,"seq":1,"at":"soon","agent":"a"}',
                     b"online ", b"OFFLINE", "\u0985".encode() * 3]))


def _is_valid_state(topic, payload):
    if not topic.endswith("/state"):
        return False
    try:
        WardState.parse(payload)
    except ValueError:
        return False
    return True


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(bad_topics, bad_payloads), min_size=1, max_size=8))
def test_bad_input_at_the_running_display_is_dropped_and_it_keeps_drawing(running, messages):
    for topic, payload in messages:
        if _is_valid_state(topic, payload) or topic.count("/") not in (4, 3):
            continue
        running.publisher.publish(topic, payload)
    assert running.process.poll() is None


ONE_OF_EACH = [("crs/nrs/medicine/male/state", b"{not json"),
               ("crs/nrs/medicine/male/state", b"x" * 5000),
               ("crs/nrs/medicine/male/state", b'{"v":1,"capacity":10,"occupied":11,"seq":1,'
                                               b'"at":"2026-11-25T18:00:00Z","agent":"a"}'),
               ("crs/nrs/medicine/Male Ward/state", b"{}"),
               ("crs/device/nrs-medicine-male/status", b"perhaps")]


def test_after_the_flood_the_last_good_state_stands_and_each_kind_was_logged_once(
        running, painter):
    publish_wards(running.publisher)         # the wards' heartbeat: a retained copy lives ~1 min
    for _ in range(3):
        for topic, payload in ONE_OF_EACH:
            running.publisher.publish(topic, payload)
    time.sleep(0.5)
    assert running.process.poll() is None
    surface = fresh_snapshot(running)         # still drawing
    layout = layout_for()
    assert shows_figure(painter, surface, layout.slots[0], layout, "9", PALETTE.available)
    kinds = _drops_seen(running.log)
    assert kinds and len(kinds) == len(set(kinds)), kinds     # once per kind per minute
    assert {"not JSON", "oversized", "invalid value", "bad topic", "bad status"} <= set(kinds)


def test_when_the_broker_is_lost_a_banner_says_so_and_the_figures_stay_marked(
        running, painter):
    publish_wards(running.publisher)         # the wards' heartbeat: a retained copy lives ~1 min
    time.sleep(0.3)
    running.broker.kill()
    time.sleep(1.0)
    surface = fresh_snapshot(running)
    layout = layout_for(banner=True)
    banner = surface.subsurface(pygame.Rect(layout.banner.x, layout.banner.y,
                                            layout.banner.w, layout.banner.h))
    assert pygame.mask.from_threshold(banner, PALETTE.banner, (2, 2, 2, 255)).count() > \
        0.5 * layout.banner.w * layout.banner.h
    for slot in layout.slots:
        _, live = figure_pixels(surface, slot, layout, PALETTE.available.figure, 20)
        assert live == 0
    assert shows_figure(painter, surface, layout.slots[0], layout, "9", PALETTE.last_known)
    running.broker.start()                # and it comes back by itself
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        surface = fresh_snapshot(running)
        layout = layout_for()
        if shows_figure(painter, surface, layout.slots[0], layout, "9", PALETTE.available):
            break
        time.sleep(0.5)
    else:
        pytest.fail("the board did not come back live after the broker returned")


# -- the full-screen board under systemd ------------------------------------------

def test_full_screen_it_notifies_systemd_pings_the_watchdog_and_stops_cleanly(
        mosquitto, tmp_path):
    with Publisher(mosquitto.host, mosquitto.port) as publisher:
        publish_wards(publisher)
    notify_path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(notify_path)
    sock.settimeout(15)
    log = str(tmp_path / "board.log")
    with Probe(mosquitto.host, mosquitto.port) as probe, \
            open(log, "w", encoding="utf-8") as handle:
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            display_command(write_config(tmp_path), mosquitto),
            env=display_env(NOTIFY_SOCKET=notify_path, WATCHDOG_USEC="1000000"),
            stdout=handle, stderr=handle, start_new_session=True)
        try:
            messages = []
            while not any(m.startswith("READY=1") for m in messages):
                messages.append(sock.recv(4096).decode())
            pings = 0
            started = time.monotonic()
            while pings < 3:
                if sock.recv(4096).decode() == "WATCHDOG=1":
                    pings += 1
            assert time.monotonic() - started < 5
            probe.wait_topic("crs/device/test-lobby/status")
            assert probe.on("crs/device/test-lobby/status")[-1] == b"online"
            process.send_signal(signal.SIGTERM)
            assert process.wait(15) == 0
            probe.wait_for(lambda ms: [m for m in ms if m.topic ==
                                       "crs/device/test-lobby/status"
                                       and m.payload == b"offline"])
            rest = []
            sock.settimeout(2)
            try:
                while True:
                    rest.append(sock.recv(4096).decode())
            except socket.timeout:
                pass
            assert "STOPPING=1" in rest
        finally:
            stop(process)
            sock.close()
    with open(log, encoding="utf-8") as handle:
        text = handle.read()
    assert "Traceback" not in text
    assert "on SDL's dummy driver" in text


def test_it_refuses_a_silent_fallback_to_an_offscreen_driver(tmp_path):
    env = display_env()
    for name in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "-m", "display", "--config",
                             write_config(tmp_path), "--broker", "127.0.0.1:9"],
                            env=env, capture_output=True, text=True, timeout=60)
    if result.returncode == 0:
        pytest.skip("this machine has a real screen")
    assert result.returncode == 1
    assert "no screen" in result.stderr and "SDL_VIDEODRIVER=kmsdrm" in result.stderr
    assert "Traceback" not in result.stderr


# -- in process: the loop wakes for a message, not only for the clock ------------

def test_a_message_wakes_the_loop_at_once(mosquitto, tmp_path):
    settings_ = config.read(write_config(tmp_path))
    settings_ = replace(settings_, broker=replace(settings_.broker, host=mosquitto.host,
                                                  port=mosquitto.port))
    app = BoardApp(settings_)
    surface = pygame.Surface((1280, 720))
    app.link.start()
    try:
        assert app.link.wait_connected(10)
        while app.waker.wait(0.3):
            app.update()
        app.update()
        app.draw(surface, full=True)
        with Publisher(mosquitto.host, mosquitto.port) as publisher:
            key = WardKey("nrs", "medicine", "male")
            sent = time.monotonic()
            publisher.state(key, WardState(capacity=40, occupied=20, seq=3,
                                           at=datetime.now(timezone.utc),
                                           agent="nrs-medicine-male"))
            assert app.waker.wait(5)
            woke = time.monotonic() - sent
            assert app.update()
            rects = app.draw(surface)
        assert woke < 0.5
        slot = app.renderer.layout.slots[0]
        assert pygame.Rect(slot.x, slot.y, slot.w, slot.h) in rects
        assert app.board.view(time.monotonic()).tiles[0].vacant == 20
    finally:
        app.link.stop()
        app.close()


class _NoLink:
    def __init__(self, *args, **kwargs):
        pass

    def start(self):
        pass

    def stop(self):
        pass


def test_the_loop_dims_the_board_at_night_and_shifts_it_against_burn_in(tmp_path):
    path = write_config(tmp_path, BOARD_YAML.replace(
        "      burn_in: {pixels: 0}",
        "      burn_in: {pixels: 4, minutes: 5}\n"
        "      night: {from: \"23:00\", to: \"06:00\", brightness: 0.3}"))
    now = {"mono": 1000.0, "wall": datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)}
    app = BoardApp(config.read(path), clock=lambda: now["mono"],
                   wall_clock=lambda: now["wall"], link_factory=_NoLink,
                   clock_synced=lambda: True)
    try:
        surface = pygame.Surface((1280, 720))
        app.draw(surface, full=True)                 # 17:30 in Kolkata: full brightness
        bright = app.renderer.palette
        first = app.renderer.layout.slots[0]
        now["wall"] = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)   # 01:30 local
        assert app.draw(surface) == [surface.get_rect()]
        dim = app.renderer.palette
        # the planes dim to the configured brightness; text keeps a readable
        # contrast on them (the renderer's own tests check the ratios)
        assert max(dim.header) <= max(bright.header) * 0.35 + 1
        assert max(dim.background) <= max(bright.background) * 0.35 + 1
        assert dim.text != bright.text and dim.text[0] < bright.text[0]
        now["mono"] += 5 * 60                       # the next burn-in position
        app.draw(surface)
        assert app.renderer.layout.slots[0] != first
        assert abs(app.renderer.layout.slots[0].x - first.x) <= 4
    finally:
        app.close()
