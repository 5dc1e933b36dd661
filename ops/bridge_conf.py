"""The hospital broker's bridge into the state cluster: ``bridge.conf``.

Written by ``bedboard broker-config --bridge-to HOST:PORT[,HOST:PORT...]``
beside the hospital's own ``bedboard.conf``, for Mosquitto's
``/etc/mosquitto/conf.d/``.  What it says, and why (each also explained in
the file itself):

* ``addresses`` lists **every node** of the cluster: Mosquitto tries them in
  turn when the one it uses is lost, and goes back to the first one
  (``round_robin false``) when it can;
* ``try_private false``: the bridge flag is Mosquitto's own extension, and a
  NATS node refuses it ("unacceptable protocol version") before Mosquitto
  retries without it;
* ``cleansession false``: the hospital broker keeps what goes out while the
  cluster is out of reach (up to ``max_queued_messages``) and sends it when
  the bridge is back; the cluster keeps the bridge's session replicated;
* only this hospital's states and events, and the device statuses, go out,
  at QoS 1, retained flags kept; nothing comes in (a correction is given at
  the hospital by its own bed manager).
"""

import logging

_LOG = logging.getLogger(__name__)


def bridge_text(hospital, nodes, prefix="crs", client_id=None, tls=None,
                username=None, password=None):
    """The text of ``bridge.conf`` for ``hospital`` bridged to ``nodes`` (``[(host, port)]``).

    ``tls``: ``(ca, cert, key)`` paths on the broker host, or None for plain
    MQTT; ``username``/``password`` when the cluster wants a login.
    """
    client_id = client_id or "bridge-%s" % hospital
    lines = [
        "# bridge.conf - written by bedboard broker-config --bridge-to; do not edit",
        "# by hand (run it again).  Forwards hospital %s's ward states and events and"
        % hospital,
        "# the device statuses to the state cluster, where the referral desks see",
        "# every hospital.  Install: install -m 640 -g mosquitto bridge.conf",
        "# /etc/mosquitto/conf.d/ and restart mosquitto.",
        "",
        "connection crs-state-%s" % hospital,
        "# Every node of the cluster, tried in turn when the one in use is lost.",
        "addresses %s" % " ".join("%s:%d" % node for node in nodes),
        "round_robin false",
        "remote_clientid %s" % client_id,
        "bridge_protocol_version mqttv311",
        "# Mosquitto's bridge flag is its own extension: a NATS node refuses it.",
        "try_private false",
        "# Keep what goes out while the cluster is out of reach (up to",
        "# max_queued_messages; beyond that the newest are dropped), and the",
        "# bridge's session on the cluster.  Mosquitto has lost bridge messages",
        "# after restarts (eclipse/mosquitto #2604, fixed in 2.0.15; Debian 12 ships",
        "# 2.0.11): ward states do not depend on the bridge (every agent republishes",
        "# its state every heartbeat), events may; an audit compares each ward's seq.",
        "cleansession false",
        "start_type automatic",
        "restart_timeout 2 30",
        "keepalive_interval 30",
        "# The bridge's own state on $SYS/broker/connection/<client id>/state:",
        "# 1 connected, 0 not.",
        "notifications true",
    ]
    if tls is not None:
        ca, cert, key = tls
        lines += ["bridge_cafile %s" % ca]
        if cert:
            lines += ["bridge_certfile %s" % cert, "bridge_keyfile %s" % key]
        lines += ["bridge_tls_version tlsv1.2"]
    if username:
        lines += ["remote_username %s" % username]
        if password:
            lines += ["remote_password %s" % password]
    lines += [
        "# Out only, at QoS 1, retained flags kept; this hospital's wards only.",
        "topic %s/%s/+/+/state out 1" % (prefix, hospital),
        "topic %s/%s/+/+/event out 1" % (prefix, hospital),
        "topic %s/device/+/status out 1" % prefix,
    ]
    return "\n".join(lines) + "\n"
