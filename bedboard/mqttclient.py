"""Broker settings into a paho client, and a failed connection into words.

Shared by the devices' link (:mod:`bedboard.link`) and the operators' tool
(:mod:`ops.session`), so that both log in, check TLS, bound the handshake
and explain a failure the same way:

* :func:`new_client` — a paho-mqtt 2 client (VERSION2 callbacks, MQTT
  3.1.1, a clean session) with the login and TLS of
  :class:`~bedboard.settings.BrokerSettings`; paho's own TCP connect and TLS
  handshake bounded by ``connect_timeout``;
* :class:`PahoLog` — paho's own log lines, on the ``bedboard.paho`` logger at
  debug.  paho 2.2 logs at ERROR what is, for a device, an ordinary part of
  an outage ("failed to receive on socket: [Errno 104] Connection reset by
  peer" when a broker dies with bytes unread, "Client is not connected" at
  each retry and once more after a clean disconnect); the link and the
  tool say once, in their own words, what happened, using the socket error
  this keeps as the reason;
* :func:`attempt_failure` and :func:`refusal` — why a connection attempt
  failed, naming the check that failed (certificate not trusted, host name
  not in the certificate, login refused, nothing listening, no answer), and
  whether it is a fault of the device's config (logged as an error) or of
  the network (a warning).
"""

import errno
import logging
import re
import socket
import ssl
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from .errors import LinkError

_LOG = logging.getLogger(__name__)
_PAHO_LOG = logging.getLogger("bedboard.paho")

CONNECT_TIMEOUT = 5.0  # seconds for a node to complete TCP, TLS and the MQTT handshake
SUBSCRIBE_QOS = 0      # see bedboard.link's module docstring


@dataclass(frozen=True)
class Failure:
    """Why one connection attempt failed: ``text`` completes "broker HOST:PORT …"."""

    text: str
    config: bool = False      # the device's settings are at fault, not the network


class PahoLog:
    """paho's ``on_log``: its lines at debug, the last socket error kept as a reason.

    Called by paho from whichever thread logs (often holding paho's own
    locks), so it takes no lock of ours: it only writes one attribute.
    """

    def __init__(self):
        self.socket_error = None

    def __call__(self, client, userdata, level, text):
        if text.startswith(("failed to receive on socket: ", "timeout on socket: ")):
            self.socket_error = re.sub(r"^\[Errno \d+\] ", "", text.split(": ", 1)[1])
        if level == mqtt.MQTT_LOG_ERR and text.startswith("Caught exception"):
            _PAHO_LOG.error("%s", text)
        else:
            _PAHO_LOG.debug("%s", text)

    def take(self):
        """The socket error logged since the last call (and forget it), or None."""
        found, self.socket_error = self.socket_error, None
        return found


def new_client(broker, client_id, connect_timeout=CONNECT_TIMEOUT, reconnect=True):
    """A paho client for ``broker`` (BrokerSettings) as ``client_id``; raise LinkError."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=True, protocol=mqtt.MQTTv311,
                         reconnect_on_failure=reconnect)
    client.on_log = PahoLog()
    client.connect_timeout = connect_timeout
    try:
        if broker.username:
            client.username_pw_set(broker.username, broker.password)
        if broker.tls is not None:
            client.tls_set(ca_certs=broker.tls.ca, certfile=broker.tls.cert,
                           keyfile=broker.tls.key, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise LinkError("broker TLS/login setup failed: %s" % exc) from exc
    return client


_ERRNO_WORDS = {errno.ECONNREFUSED: "connection refused: nothing listens on that port",
                errno.EHOSTUNREACH: "no route to the host",
                errno.ENETUNREACH: "the network is unreachable",
                errno.ECONNRESET: "connection reset"}


def attempt_failure(exc, host, timeout, tls=False):
    """The Failure of an attempt that raised ``exc`` before the MQTT handshake began.

    ``tls``: the device speaks TLS — a connection reset during the connect
    is then a broker that does not speak it on that port.
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = exc.verify_message or str(exc)
        if "mismatch" in message.lower():
            return Failure("failed the TLS check: host name mismatch — its certificate "
                           "is not valid for '%s' (broker.host must be a name or address "
                           "in the broker's certificate)" % host, config=True)
        return Failure("failed the TLS check: certificate verify failed — %s (check "
                       "broker.tls.ca: it must be the CA that signed the broker's "
                       "certificate; \"not yet valid\" or \"expired\": check this "
                       "device's clock)" % message, config=True)
    if isinstance(exc, ssl.SSLError):
        return Failure("failed the TLS handshake: %s (is that the broker's TLS port?)"
                       % (exc.reason or exc).lower().replace("_", " "), config=True)
    if tls and isinstance(exc, (ConnectionResetError, ConnectionAbortedError)):
        return Failure("failed the TLS handshake: the broker reset the connection (is "
                       "that the broker's TLS port?)", config=True)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return Failure("cannot be reached (no answer within %.1f s)" % timeout)
    if isinstance(exc, socket.gaierror):
        return Failure("cannot be reached (host name not found: %s)" % exc.strerror,
                       config=True)
    if isinstance(exc, OSError):
        words = _ERRNO_WORDS.get(exc.errno) or exc.strerror or str(exc)
        return Failure("cannot be reached (%s)" % words)
    return Failure("cannot be reached (%s)" % (exc or "no reason given"))


_LOGIN = ("Not authorized", "Bad user name or password")


def refusal(reason_code, username):
    """The Failure of a CONNACK that refused the connection (``reason_code``)."""
    text = str(reason_code)
    if text in _LOGIN:
        return Failure("refused the login as %s: not authorised (%s) — check "
                       "broker.username and the password in broker.password_file"
                       % (username or "(no user name)", text), config=True)
    return Failure("refused the connection (%s)" % text)


def no_answer(timeout):
    """The Failure of a node that accepted TCP but did not complete the handshake."""
    return Failure("did not answer the MQTT handshake within %.1f s" % timeout)


def closed_early(socket_error):
    """The Failure of a node that closed (or reset) the connection before CONNACK."""
    if socket_error:
        return Failure("closed the connection before answering the MQTT handshake "
                       "(%s)" % socket_error.lower())
    return Failure("closed the connection before answering the MQTT handshake")
