"""Helpers for the board's tests and screenshots: demo wards on a private broker.

``python -m tests.display_helpers`` renders the README's pictures into
``images/`` with the real ``bed-display --snapshot``, from the demo configs
in ``config/demo/`` and ward states published on a private Mosquitto.
"""

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from bedboard.mosquitto import PrivateBroker
from bedboard.payloads import WardState
from bedboard.topics import WardKey, status_topic, ward_topic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "config", "demo")


def demo_wards(folder=os.path.join(DEMO, "agents")):
    """``{WardKey: (agent id, capacity, occupied)}`` from the demo agents' configs."""
    wards = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.yaml"))):
        with open(path, encoding="utf-8") as handle:
            agent = yaml.safe_load(handle)["agent"]
        key = WardKey(agent["hospital"], agent["department"], agent["ward"])
        wards[key] = (agent["id"], agent["capacity"], agent["occupied"])
    return wards


def ward_state(agent, capacity, occupied, blocked=0, seq=1, minutes_ago=7, synced=False):
    """A WardState changed ``minutes_ago`` (by a synchronised clock when ``synced``)."""
    at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    return WardState(capacity=capacity, occupied=occupied, blocked=blocked, seq=seq,
                     at=at, agent=agent, synced=synced)


class Publisher:
    """A plain paho client that publishes and waits for each acknowledgement."""

    def __init__(self, host, port, prefix="crs"):
        self.prefix = prefix
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id="test-publisher-" + uuid.uuid4().hex[:8])
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()

    def publish(self, topic, payload, retain=False):
        """Publish at QoS 1 and wait until the broker has it."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)
        return info

    def state(self, key, state, retain=True):
        """Publish a ward's WardState."""
        return self.publish(ward_topic(self.prefix, key, "state"), state.to_json(), retain)

    def status(self, device, online, retain=True):
        """Publish a device's status (``online``/``offline``)."""
        return self.publish(status_topic(self.prefix, device),
                            b"online" if online else b"offline", retain)

    def close(self):
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def display_command(config, broker, *extra):
    """The command line that runs the real board against ``broker`` (a PrivateBroker)."""
    return [sys.executable, "-m", "display", "--config", config,
            "--broker", "%s:%d" % (broker.host, broker.port)] + list(extra)


def display_env(**extra):
    """The environment for a headless board subprocess."""
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy",
               PYGAME_HIDE_SUPPORT_PROMPT="1", PYTHONPATH=ROOT)
    env.update(extra)
    return env


def wait_for_file(path, timeout=20.0, newer_than=0.0):
    """Wait until ``path`` exists (and was written after ``newer_than``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.stat(path).st_mtime > newer_than:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


# -- reading pixels -----------------------------------------------------------

def figure_pixels(surface, slot, layout, colour, tolerance=40):
    """``(bounding Rect or None, count)`` of pixels near ``colour`` in a tile's figure."""
    import pygame  # pylint: disable=import-outside-toplevel
    figure = layout.tile.figure.moved(slot.x, slot.y)
    area = surface.subsurface(pygame.Rect(figure.x, figure.y, figure.w, figure.h))
    mask = pygame.mask.from_threshold(area, colour, (tolerance, tolerance, tolerance, 255))
    rects = mask.get_bounding_rects()
    return (pygame.Rect.unionall(rects[0], rects[1:]) if rects else None), mask.count()


def shows_figure(painter, surface, slot, layout, text, look):
    """Whether the tile at ``slot`` shows exactly the figure ``text`` in ``look``'s colours."""
    import pygame  # pylint: disable=import-outside-toplevel
    figure = layout.tile.figure
    image = painter.figure(text, layout.tile.figure_ink, figure.w, look.figure, look.tile)
    x = slot.x + figure.x
    y = slot.y + figure.y + (figure.h - image.get_height()) // 2
    drawn = surface.subsurface(pygame.Rect(x, y, image.get_width(), image.get_height()))
    return pygame.image.tobytes(drawn, "RGB") == pygame.image.tobytes(image, "RGB")


# -- the README's pictures --------------------------------------------------

def _publish_demo(publisher, wards, blocked=None, offline=()):
    blocked = blocked or {}
    for key, (agent, capacity, occupied) in wards.items():
        block = min(blocked.get(key, 0), capacity - occupied)
        publisher.status(agent, agent not in offline)
        publisher.state(key, ward_state(agent, capacity, occupied, block,
                                        minutes_ago=3 + len(agent) % 11, synced=True))


# The pictures show the board as it runs on a Pi whose clock is kept by the
# hospital's time server (docs/install.md, "Its clock"): the clock shown, and the
# panels' synchronised "at" trusted for "updated N min ago".
PICTURE_ENV = dict(BEDBOARD_TRUST_CLOCK="1")


def _snapshot(config, broker, out, wait="5"):
    subprocess.run(display_command(config, broker, "--snapshot", out, "--wait", wait),
                   env=display_env(**PICTURE_ENV), check=True, timeout=60)


def _variant(config, work, name, **display):
    """A copy of the board config ``config`` with ``display`` keys (and tiles) changed."""
    with open(config, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    tiles = display.pop("tiles", None)
    data["display"].update(display)
    if tiles is not None:
        data["board"]["tiles"] = tiles
    path = os.path.join(work, name)
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, allow_unicode=True)
    return path


SMALL_TILES = [
    {"department": "medicine", "wards": ["male", "isolation"],
     "label": {"en": "Medicine", "bn": "মেডিসিন"}},
    {"department": "surgery", "label": {"en": "Surgery", "bn": "সার্জারি"}},
    {"department": "obgyn", "label": {"en": "Obstetrics & Gynaecology (Labour Room)",
                                      "bn": "স্ত্রীরোগ ও প্রসূতি (লেবার রুম)"}},
    {"department": "icu", "label": {"en": "ICU", "bn": "আইসিইউ"}},
    {"department": "cardiology", "label": {"en": "Cardiology", "bn": "হৃদরোগ"}},
]


def make_images(folder=os.path.join(ROOT, "images")):
    """Render every README picture into ``folder``."""
    os.makedirs(folder, exist_ok=True)
    wards = demo_wards()
    nrs_blocked = {WardKey("nrs", "surgery", "male"): 3,
                   WardKey("nrs", "orthopaedics", "ward-1"): 2}
    work = tempfile.mkdtemp(prefix="bedboard-images-")
    try:
        with PrivateBroker() as broker:
            with Publisher(broker.host, broker.port) as publisher:
                _publish_demo(publisher, wards, nrs_blocked)
                # the ICU is full when the board starts, then two beds free up
                icu = WardKey("nrs", "icu", "unit-1")
                agent, capacity, occupied = wards[icu]
                board = subprocess.Popen(  # pylint: disable=consider-using-with
                    display_command(os.path.join(DEMO, "nrs-lobby.yaml"), broker,
                                    "--snapshot", os.path.join(work, "lobby.png"),
                                    "--snapshot-every", "0.5"),
                    env=display_env(**PICTURE_ENV), start_new_session=True)
                try:
                    assert wait_for_file(os.path.join(work, "lobby.png"))
                    # the ICU panel's heartbeat (live: the board hears the panel
                    # itself, not the broker's copy), then two beds free up
                    publisher.state(icu, ward_state(agent, capacity, occupied, seq=1,
                                                    minutes_ago=3 + len(agent) % 11,
                                                    synced=True))
                    time.sleep(0.3)
                    publisher.state(icu, ward_state(agent, capacity, occupied - 2, seq=2,
                                                    minutes_ago=0, synced=True))
                    started = time.time()
                    assert wait_for_file(os.path.join(work, "lobby.png"),
                                         newer_than=started + 0.6)
                finally:
                    board.send_signal(signal.SIGTERM)
                    board.wait(20)
                shutil.copy(os.path.join(work, "lobby.png"),
                            os.path.join(folder, "nrs-lobby.png"))
                _snapshot(os.path.join(DEMO, "nrs-lobby-portrait.yaml"), broker,
                          os.path.join(folder, "nrs-lobby-portrait.png"))
                _snapshot(os.path.join(DEMO, "referral.yaml"), broker,
                          os.path.join(folder, "referral.png"))
                # the official Pi touchscreen, and a cheap lobby TV with five tiles
                _snapshot(_variant(os.path.join(DEMO, "nrs-lobby.yaml"), work,
                                   "touchscreen.yaml", size=[800, 480]), broker,
                          os.path.join(folder, "touchscreen-800x480.png"))
                # the ten tiles on a cheap 1280x720 TV, Paediatrics partly reporting:
                # a second ward whose panel went offline; the bar and the footer say so
                second = WardKey("nrs", "paediatrics", "ward-2")
                publisher.status("nrs-paediatrics-ward-2", False)
                publisher.state(second, ward_state("nrs-paediatrics-ward-2", 24, 24,
                                                   minutes_ago=40, synced=True))
                _snapshot(_variant(os.path.join(DEMO, "nrs-lobby.yaml"), work,
                                   "ten.yaml", size=[1280, 720]), broker,
                          os.path.join(folder, "nrs-lobby-1280x720.png"))
                publisher.status("nrs-cardiology-ward-1", False)
                _snapshot(_variant(os.path.join(DEMO, "nrs-lobby.yaml"), work,
                                   "small.yaml", size=[1280, 720], tiles=SMALL_TILES),
                          broker, os.path.join(folder, "small-1280x720.png"))
        # a ward panel offline, one silent, then the broker lost under the board
        with PrivateBroker() as broker:
            with Publisher(broker.host, broker.port) as publisher:
                _publish_demo(publisher, wards, nrs_blocked,
                              offline={"nrs-surgery-female", "nrs-cardiology-ward-1"})
            out = os.path.join(work, "lost.png")
            board = subprocess.Popen(  # pylint: disable=consider-using-with
                display_command(os.path.join(DEMO, "nrs-lobby.yaml"), broker,
                                "--snapshot", out, "--snapshot-every", "0.5"),
                env=display_env(**PICTURE_ENV), start_new_session=True)
            try:
                assert wait_for_file(out)
                broker.kill()
                killed = time.time()
                assert wait_for_file(out, newer_than=killed + 2.5)
            finally:
                board.send_signal(signal.SIGTERM)
                board.wait(20)
            shutil.copy(out, os.path.join(folder, "nrs-lobby-broker-lost.png"))
        _holds_and_checks(wards, nrs_blocked, work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _holds_and_checks(wards, blocked, work, folder):
    """The ten tiles at 1280x720 (issue 20): Medicine (Male) with a bed held for a
    referral and its count checked 40 min ago, Surgery (Female) not checked for 5 h;
    the other panels from before checks and holds.  The two come live after the
    board's start: a retained copy's check age is a lower bound only."""
    with PrivateBroker() as broker:
        with Publisher(broker.host, broker.port) as publisher:
            _publish_demo(publisher, wards, blocked)
            out = os.path.join(work, "holds.png")
            board = subprocess.Popen(  # pylint: disable=consider-using-with
                display_command(_variant(os.path.join(DEMO, "nrs-lobby.yaml"), work,
                                         "holds.yaml", size=[1280, 720]), broker,
                                "--snapshot", out, "--snapshot-every", "0.5"),
                env=display_env(**PICTURE_ENV), start_new_session=True)
            try:
                assert wait_for_file(out)
                now = datetime.now(timezone.utc).replace(microsecond=0)
                for key, held, age in ((WardKey("nrs", "medicine", "male"), 1, 40 * 60),
                                       (WardKey("nrs", "surgery", "female"), 0, 5 * 3600)):
                    agent, capacity, occupied = wards[key]
                    publisher.state(key, WardState(
                        capacity=capacity, occupied=occupied, blocked=held + 1, held=held,
                        seq=2, at=now - timedelta(minutes=9), agent=agent, synced=True,
                        checked=now - timedelta(seconds=age), checked_age=age))
                started = time.time()
                assert wait_for_file(out, newer_than=started + 0.6)
            finally:
                board.send_signal(signal.SIGTERM)
                board.wait(20)
            shutil.copy(out, os.path.join(folder, "holds-checks-1280x720.png"))


if __name__ == "__main__":
    make_images(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "images"))
    print("pictures written")
