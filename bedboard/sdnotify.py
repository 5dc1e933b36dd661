"""The systemd notify protocol: READY, STATUS, STOPPING and watchdog pings.

The few lines sd_notify(3) documents as a stable interface, rather than a
dependency: one datagram to ``$NOTIFY_SOCKET`` (an abstract socket when it
starts with ``@``).  Outside systemd every call is a no-op.
"""

import logging
import os
import socket

_LOG = logging.getLogger(__name__)


def notify(message):
    """Send ``message`` (e.g. ``"READY=1"``); return whether it was sent."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as exc:
        _LOG.warning("cannot notify systemd at %s: %s", address, exc)
        return False
    return True


def watchdog_interval():
    """Seconds between watchdog pings systemd expects (half its timeout), or None."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(int(usec) / 2e6, 0.5)
    except ValueError:
        return None


def ready(status=None):
    """Tell systemd the service is up."""
    return notify("READY=1" + ("\nSTATUS=%s" % status if status else ""))


def watchdog():
    """One watchdog ping: send it from the loop whose liveness it proves."""
    return notify("WATCHDOG=1")


def extend_timeout(seconds):
    """Ask for ``seconds`` more before start-up (or stop) counts as hung.

    For a start that legitimately waits (an agent recovering its ledger from
    a broker that is not up yet), sent from the loop that is doing the waiting.
    """
    return notify("EXTEND_TIMEOUT_USEC=%d" % int(seconds * 1e6))


def stopping():
    """Tell systemd the service is shutting down."""
    return notify("STOPPING=1")
