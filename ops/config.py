"""The operator's config: who the bed manager's tool logs in as, and how it judges.

A file with the shared ``broker:`` section (docs/contract.md's keys, read by
:func:`bedboard.settings.read_broker`) and an ``operator:`` section::

    broker: {host: 10.20.0.10, port: 8883, username: bed-manager,
             password_file: /etc/bedboard/bed-manager.secret,
             tls: {ca: /etc/bedboard/tls/ca.crt}}
    operator:
      hospital: nrs        # bedboard status: only this hospital (default: all)
      stale_after: 180     # as the boards: seconds without a message
      heartbeat: 60        # the agents' heartbeat: how long a retained copy may stand
      wait: 10             # bedboard set: seconds to wait for the ward's answer

Read once, every problem collected, through :func:`bedboard.settings.load`.
"""

import logging
from dataclasses import dataclass

from bedboard.settings import BrokerSettings, load, read_broker
from bedboard.topics import check_slug

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class OperatorSettings:
    """Everything the operator's config says."""

    path: str
    broker: BrokerSettings
    hospital: str = None
    stale_after: float = 180.0
    heartbeat: float = 60.0
    wait: float = 10.0


def _slug(value):
    check_slug(value, "hospital")


def read_operator(root, path):
    """Build OperatorSettings from a config's top-level Section."""
    broker = read_broker(root)
    sec = root.section("operator", required=True)
    settings = OperatorSettings(
        path=path, broker=broker,
        hospital=sec.text("hospital", None, check=_slug),
        stale_after=float(sec.number("stale_after", 180, low=10, high=86400)),
        heartbeat=float(sec.number("heartbeat", 60, low=1, high=3600)),
        wait=float(sec.number("wait", 10, low=1, high=600)))
    sec.done()
    return settings


def load_operator(path):
    """Read and check an operator config; raise ConfigError listing every problem."""
    return load(path, lambda root: read_operator(root, path))
