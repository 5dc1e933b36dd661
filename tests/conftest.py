"""Fixtures shared by the whole suite: a private Mosquitto and an MQTT probe.

Tests never touch port 1883 — other things use the machine's own broker.
"""

import os

import pytest

# Headless by environment, before anything imports pygame.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from bedboard.mosquitto import PrivateBroker  # noqa: E402
from bedboard.settings import BrokerSettings  # noqa: E402

from .probe import Probe  # noqa: E402


@pytest.fixture
def mosquitto(tmp_path):
    """A fresh private Mosquitto on a free loopback port, removed afterwards."""
    broker = PrivateBroker(workdir=str(tmp_path / "mosquitto"))
    broker.start()
    yield broker
    broker.close()


@pytest.fixture
def broker_settings(mosquitto):
    """BrokerSettings that point at the private Mosquitto."""
    return BrokerSettings(host=mosquitto.host, port=mosquitto.port)


@pytest.fixture
def probe(mosquitto):
    """An MQTT client that records what it receives on the private broker."""
    with Probe(mosquitto.host, mosquitto.port) as client:
        yield client
