"""``bedboard broker-config``: the hospital broker's files, derived from the device configs.

Reads every agent's and display's config (and operator configs, if given),
checks them against each other and against the broker's listeners, and
writes into ``--out``:

* ``acl`` — who may read and write what (:mod:`ops.acl`);
* ``passwd`` — Mosquitto's hashed password file, and ``secrets/<id>``, each
  device's password in plain text, mode 0600 (:mod:`ops.passwd`);
* ``bedboard.conf`` — the broker's mosquitto.conf (:mod:`ops.broker_conf`);
* ``bridge.conf`` — with ``--bridge-to``, the bridge into the state cluster
  (:mod:`ops.bridge_conf`).

A second run keeps every password (and writes nothing that would not
change); ``rotate`` replaces the named ones.
"""

import logging
import os
import ssl
from dataclasses import dataclass

from bedboard.errors import ConfigError

from . import OpsError
from .acl import accounts, acl_text
from .bridge_conf import bridge_text
from .broker_conf import conf_text, is_loopback
from .devices import (AGENT, DISPLAY, OPERATOR, check_together, files_elsewhere,
                      in_file_order, read_devices)
from .files import write_file
from .passwd import Secrets, passwd_text, read_passwd, settle_passwords

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Written:
    """What a run of broker-config wrote and found, for the command to tell."""

    out: str
    accounts: int
    agents: int
    displays: int
    new_passwords: tuple
    changed: tuple          # file names whose content changed
    left_over: tuple        # kept secrets of users no config names any more
    warnings: tuple


def _listener_problems(devices, listeners):
    """Each device must reach a listener this broker will have."""
    problems = []
    for device in devices:
        broker = device.broker
        tls = broker.tls is not None
        if tls and not listeners.tls:
            problems.append("%s: this device uses TLS, but the broker has no TLS "
                            "listener: give --tls-cert, --tls-key and --tls-ca"
                            % device.where("broker.tls"))
        elif tls and broker.port != listeners.tls_port:
            problems.append("%s: %d is not the broker's TLS port (%d)"
                            % (device.where("broker.port"), broker.port,
                               listeners.tls_port))
        elif not tls and listeners.plain_address is None:
            problems.append("%s: this device connects without TLS, but the broker has "
                            "no plain listener: give it tls: (port %d)"
                            % (device.where("broker.port"), listeners.tls_port))
        elif not tls and broker.port != listeners.plain_port:
            problems.append("%s: %d is not the broker's plain MQTT port (%d)%s"
                            % (device.where("broker.port"), broker.port,
                               listeners.plain_port,
                               "; with TLS it needs tls:" if listeners.tls
                               and broker.port == listeners.tls_port else ""))
        elif not tls and not listeners.plain_everywhere \
                and not is_loopback(broker.host):
            problems.append("%s: this device connects to %s:%d without TLS, but plain "
                            "MQTT listens on %s only: give the device tls: (port %d), "
                            "or open plain MQTT to the LAN with --plain-listen 0.0.0.0"
                            % (device.where("broker.host"), broker.host, broker.port,
                               listeners.plain_address, listeners.tls_port))
    return problems


def _check_tls_files(listeners):
    """Warnings for TLS files not here; an error for a key that is not the cert's."""
    warnings = []
    if not listeners.tls:
        return warnings
    unreadable = False
    for flag, path in (("--tls-cert", listeners.tls_cert), ("--tls-key", listeners.tls_key),
                       ("--tls-ca", listeners.tls_ca)):
        if not os.path.isfile(path):
            warnings.append("%s %s: not on this machine; it must be there on the broker "
                            "machine before Mosquitto starts" % (flag, path))
        elif not os.access(path, os.R_OK):
            unreadable = True      # the key, mode 640 for the mosquitto group: fine
    if not warnings and not unreadable:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(listeners.tls_cert, listeners.tls_key)
            context.load_verify_locations(listeners.tls_ca)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(["--tls-cert %s, --tls-key %s, --tls-ca %s: not a usable "
                               "certificate, key and CA: %s" % (
                                   listeners.tls_cert, listeners.tls_key,
                                   listeners.tls_ca, exc)]) from None
    return warnings


def broker_config(configs, out, listeners, layout, operator="bed-manager", rotate=(),
                  bridge_to=None, bridge_tls=None):
    """Read ``configs``, check them, write the broker's files into ``out``.

    ``bridge_to``: the state cluster's nodes as ``[(host, port)]``; with it,
    ``bridge.conf`` too (:mod:`ops.bridge_conf`), for the agents' hospital, with
    ``bridge_tls`` ``(ca, cert, key)`` when the cluster is reached over TLS.

    Raises ConfigError (every problem) or OpsError; returns Written.
    """
    devices = read_devices(configs, files_elsewhere)
    problems = check_together(devices, operator)
    problems += _listener_problems(devices, listeners)
    hardware = [d for d in devices if d.kind != OPERATOR]
    if not hardware:
        problems.append("%s: no agent or display config among them"
                        % ", ".join(configs))
    users = [operator] + sorted({d.id for d in hardware})
    unknown = [name for name in rotate if name not in users]
    if unknown:
        problems += ["--rotate %s: no device or operator of that name in these configs"
                     % name for name in unknown]
    hospitals = sorted({d.settings.ward.hospital for d in hardware if d.kind == AGENT})
    if bridge_to and len(hospitals) != 1:
        problems.append("--bridge-to: the agents' configs must be of one hospital, found %s"
                        % (", ".join(hospitals) or "no agent"))
    if problems:
        raise ConfigError(in_file_order(problems, devices))
    warnings = _check_tls_files(listeners)
    prefix = hardware[0].broker.prefix
    accounts_, said = accounts(devices, operator, prefix)
    warnings += said
    anonymous = sorted(d.id for d in hardware if d.broker.username is None)
    if anonymous:
        warnings.append("%d config(s) give no broker.username (%s%s): the broker refuses "
                        "them until each logs in as its id with password_file holding "
                        "secrets/ID" % (len(anonymous), ", ".join(anonymous[:3]),
                                        ", …" if len(anonymous) > 3 else ""))
    agents = sum(1 for d in hardware if d.kind == AGENT)
    displays = sum(1 for d in hardware if d.kind == DISPLAY)

    os.makedirs(out, exist_ok=True)
    secrets_ = Secrets(os.path.join(out, "secrets"))
    passwd_path = os.path.join(out, "passwd")
    entries, made = settle_passwords(users, secrets_, read_passwd(passwd_path),
                                     rotate=set(rotate))
    changed = []
    for name, text, mode in (
            ("acl", acl_text(accounts_, prefix, (agents, displays)), 0o644),
            ("passwd", passwd_text(entries), 0o600),
            ("bedboard.conf", conf_text(listeners, layout), 0o644)) + ((
                ("bridge.conf", bridge_text(hospitals[0], bridge_to, prefix,
                                                    tls=bridge_tls), 0o640),)
                if bridge_to else ()):
        if write_file(os.path.join(out, name), text, mode):
            changed.append(name)
    left_over = tuple(u for u in secrets_.users() if u not in users)
    if not os.path.isdir(out):
        raise OpsError("cannot use %s as the output folder" % out)
    return Written(out=out, accounts=len(users), agents=agents, displays=displays,
                   new_passwords=tuple(made), changed=tuple(changed),
                   left_over=left_over, warnings=tuple(warnings))


def report(written):
    """The lines broker-config prints: what it wrote, and what to do next."""
    out = written.out
    lines = ["%s %s: %d accounts (the operator, %d display(s), %d agent(s))" % (
        "wrote" if "acl" in written.changed else "unchanged", os.path.join(out, "acl"),
        written.accounts, written.displays, written.agents)]
    if written.new_passwords:
        lines.append("wrote %s: %d new password(s) (%s), each in %s: copy it to that "
                     "device's broker.password_file (bedboard install --secret)" % (
                         os.path.join(out, "passwd"), len(written.new_passwords),
                         ", ".join(written.new_passwords[:3])
                         + (", …" if len(written.new_passwords) > 3 else ""),
                         os.path.join(out, "secrets", "ID")))
    else:
        lines.append("%s %s: every password kept" % (
            "wrote" if "passwd" in written.changed else "unchanged",
            os.path.join(out, "passwd")))
    lines.append("%s %s" % ("wrote" if "bedboard.conf" in written.changed
                            else "unchanged", os.path.join(out, "bedboard.conf")))
    if os.path.exists(os.path.join(out, "bridge.conf")):
        lines.append("%s %s: install it in /etc/mosquitto/conf.d/ (mode 640, group "
                     "mosquitto)" % ("wrote" if "bridge.conf" in written.changed
                                     else "unchanged", os.path.join(out, "bridge.conf")))
    if written.left_over:
        lines.append("kept %s for %s, which no config names any more: not in passwd or "
                     "acl (delete the file when the device is gone for good)" % (
                         os.path.join(out, "secrets", "…"), ", ".join(written.left_over)))
    return lines
