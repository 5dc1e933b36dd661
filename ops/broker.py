"""``bedboard broker-config``: the hospital broker's files, derived from the device configs.

Reads every agent's and display's config (and operator configs, if given),
checks them against each other and against the broker's listeners, and
writes into ``--out``:

* ``acl`` — who may read and write what (:mod:`ops.acl`);
* ``passwd`` — Mosquitto's hashed password file, and ``secrets/<id>``, each
  device's password in plain text, mode 0600 (:mod:`ops.passwd`);
* ``bedboard.conf`` — the broker's mosquitto.conf (:mod:`ops.broker_conf`);
* ``bridge.conf`` — with ``--bridge-to``, the bridge into the state cluster
  (:mod:`ops.bridge_conf`);
* ``mosquitto.service.d/bedboard.conf`` — the systemd drop-in that raises
  the broker's open-file limit (:func:`ops.broker_conf.limits_text`).

A second run keeps every password (and writes nothing that would not
change); ``rotate`` replaces the named ones.  It never makes a new password
silently for an account that had one: a ``passwd`` that names a user whose
``secrets/`` file is gone is an error, unless that user is rotated or
``new_secrets`` says to (copying a new ``passwd`` would lock out every
device still holding its old password).  ``--out`` is made mode 0700
whatever the umask, and one that others may write to is refused.
"""

import logging
import os
import ssl
import stat
from dataclasses import dataclass

from bedboard.errors import ConfigError

from . import OpsError
from .acl import accounts, acl_text
from .bridge_conf import bridge_text
from .broker_conf import conf_text, is_loopback, limits_text
from .devices import (AGENT, DISPLAY, OPERATOR, check_together, files_elsewhere,
                      in_file_order, read_devices)
from .files import write_file
from .passwd import Secrets, missing_secrets, passwd_text, read_passwd, settle_passwords
from .tls_check import check_server_tls

_LOG = logging.getLogger(__name__)


LIMITS = os.path.join("mosquitto.service.d", "bedboard.conf")


@dataclass(frozen=True)
class Bridge:
    """``--bridge-to`` and how it logs in to the state cluster."""

    nodes: list                 # [(host, port)]
    tls: tuple = None           # (ca, cert, key) on the broker host, or None
    username: str = None
    password_file: str = None   # here, read now: bridge.conf holds the password
    insecure: bool = False      # --bridge-insecure: plain or login-less, said so


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


def _tls_hosts(devices):
    """``{host: [config names]}`` of every host a device reaches over TLS."""
    hosts = {}
    for device in devices:
        if device.broker.tls is None:
            continue
        for host, _ in device.broker.addresses:
            hosts.setdefault(host, []).append(device.name)
    return hosts


def _check_tls_files(listeners, devices, here=None):
    """Warnings for TLS files not here; errors for a CA, certificate or key that do not agree.

    The certificate is checked against the CA and every device's host
    (:mod:`ops.tls_check`) whenever the certificate and the CA are here;
    the key, when it is readable too, against the certificate.  ``here``:
    ``(cert, key, ca)`` where the files are on this machine, when that is
    not where the broker will read them (``bedboard plan``'s folder).
    """
    warnings = []
    if not listeners.tls:
        return warnings
    cert, key, ca = here or (listeners.tls_cert, listeners.tls_key, listeners.tls_ca)
    if os.path.isfile(cert) and os.path.isfile(ca):
        problems, said = check_server_tls(cert, ca, _tls_hosts(devices))
        if problems:
            raise ConfigError(problems)
        warnings += said
    unreadable = False
    for flag, path in (("--tls-cert", cert), ("--tls-key", key), ("--tls-ca", ca)):
        if not os.path.isfile(path):
            warnings.append("%s %s: not on this machine; it must be there on the broker "
                            "machine before Mosquitto starts" % (flag, path))
        elif not os.access(path, os.R_OK):
            unreadable = True      # the key, mode 640 for the mosquitto group: fine
    if not warnings and not unreadable:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(cert, key)
            context.load_verify_locations(ca)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(["--tls-cert %s, --tls-key %s, --tls-ca %s: not a usable "
                               "certificate, key and CA: %s" % (cert, key, ca, exc)]) from None
    return warnings


def _bridge_problems(bridge):
    """A bridge goes out over TLS with a login, or the operator said --bridge-insecure."""
    if bridge is None or bridge.insecure:
        return []
    problems = []
    if bridge.tls is None:
        problems.append("--bridge-to: the bridge would carry every ward's state to the "
                        "cluster in clear: give --bridge-ca (the cluster's CA), or "
                        "--bridge-insecure to say that is what you want")
    if bridge.username is None and (bridge.tls is None or not bridge.tls[1]):
        problems.append("--bridge-to: the bridge would log in to the cluster as nobody: "
                        "give --bridge-user and --bridge-password-file (bedboard "
                        "cluster-config writes them), or --bridge-cert and --bridge-key, "
                        "or --bridge-insecure to say that is what you want")
    return problems


def _bridge_password(bridge):
    if bridge is None or bridge.password_file is None:
        return None
    try:
        with open(bridge.password_file, encoding="utf-8") as handle:
            password = handle.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(["--bridge-password-file %s: cannot read: %s" % (
            bridge.password_file, getattr(exc, "strerror", None) or exc)]) from None
    if not password:
        raise ConfigError(["--bridge-password-file %s: is empty" % bridge.password_file])
    return password


def make_out(out):
    """Make ``out`` (mode 0700 whatever the umask); refuse one others may write to."""
    try:
        os.makedirs(out, mode=0o700, exist_ok=True)
        mode = os.stat(out).st_mode
    except OSError as exc:
        raise OpsError("cannot use %s as the output folder: %s"
                       % (out, exc.strerror or exc)) from None
    if not stat.S_ISDIR(mode):
        raise OpsError("cannot use %s as the output folder: not a folder" % out)
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise OpsError("%s can be written by others (mode %o): anyone could replace the "
                       "passwd or secrets in it; chmod 700 it and run again"
                       % (out, stat.S_IMODE(mode)))
    if mode & stat.S_IRWXO:
        os.chmod(out, stat.S_IMODE(mode) & ~stat.S_IRWXO)


def broker_config(configs, out, listeners, layout, operators=("bed-manager",), rotate=(),
                  bridge=None, new_secrets=False, legacy_set=False, secrets_dir=None,
                  tls_here=None, devices=None):
    """Read ``configs``, check them, write the broker's files into ``out``.

    ``operators``: the operator accounts, one per person.  ``bridge``: a
    :class:`Bridge`; with it, ``bridge.conf`` too (:mod:`ops.bridge_conf`),
    for the agents' hospital.  ``new_secrets``: make new passwords for users
    whose ``secrets/`` file is missing though ``passwd`` names them.
    ``legacy_set``: operators may also write the old, unattributed ``set``.
    ``secrets_dir``: where the passwords are kept (default ``out/secrets``);
    ``tls_here``: ``(cert, key, ca)`` where the TLS files are on this
    machine, when not at the listeners' paths; ``devices``: the configs
    already read (DeviceConfig), instead of reading them again (all three
    for ``bedboard plan``).

    Raises ConfigError (every problem) or OpsError; returns Written.
    """
    operators = list(dict.fromkeys(operators))
    if devices is None:
        devices = read_devices(configs, files_elsewhere)
    problems = check_together(devices, operators)
    problems += _listener_problems(devices, listeners)
    hardware = [d for d in devices if d.kind != OPERATOR]
    if not hardware:
        problems.append("%s: no agent or display config among them"
                        % ", ".join(configs))
    users = operators + sorted({d.id for d in hardware})
    unknown = [name for name in rotate if name not in users]
    if unknown:
        problems += ["--rotate %s: no device or operator of that name in these configs"
                     % name for name in unknown]
    hospitals = sorted({d.settings.ward.hospital for d in hardware if d.kind == AGENT})
    if bridge and len(hospitals) != 1:
        problems.append("--bridge-to: the agents' configs must be of one hospital, found %s"
                        % (", ".join(hospitals) or "no agent"))
    problems += _bridge_problems(bridge)
    if problems:
        raise ConfigError(in_file_order(problems, devices))
    warnings = _check_tls_files(listeners, devices, tls_here)
    bridge_password = _bridge_password(bridge)
    if bridge is not None and bridge.insecure and (bridge.tls is None
                                                   or bridge.username is None):
        warnings.append("--bridge-insecure: the bridge goes to the cluster %s%s" % (
            "in clear" if bridge.tls is None else "over TLS",
            " without a login" if bridge.username is None and not (
                bridge.tls and bridge.tls[1]) else ""))
    prefix = hardware[0].broker.prefix
    accounts_, said = accounts(devices, operators, prefix, legacy_set)
    warnings += said
    anonymous = sorted(d.id for d in hardware if d.broker.username is None)
    if anonymous:
        warnings.append("%d config(s) give no broker.username (%s%s): the broker refuses "
                        "them until each logs in as its id with password_file holding "
                        "secrets/ID" % (len(anonymous), ", ".join(anonymous[:3]),
                                        ", …" if len(anonymous) > 3 else ""))
    agents = sum(1 for d in hardware if d.kind == AGENT)
    displays = sum(1 for d in hardware if d.kind == DISPLAY)

    make_out(out)
    secrets_ = Secrets(secrets_dir or os.path.join(out, "secrets"))
    passwd_path = os.path.join(out, "passwd")
    old_entries = read_passwd(passwd_path)
    if not new_secrets:
        lost = missing_secrets(users, secrets_, old_entries, set(rotate))
        if lost:
            raise ConfigError(["%s names %s, but %s: a new password now would lock "
                               "%s out once this passwd is installed. Restore secrets/ "
                               "from where you keep it (with the CA's key), or give "
                               "--rotate ID for each (then install each new password on "
                               "its device), or --new-secrets for all of them"
                               % (passwd_path, ", ".join(lost),
                                  "its secrets/ file is gone" if len(lost) == 1 else
                                  "their secrets/ files are gone",
                                  "it" if len(lost) == 1 else "them")])
    entries, made = settle_passwords(users, secrets_, old_entries, rotate=set(rotate))
    os.makedirs(os.path.join(out, os.path.dirname(LIMITS)), mode=0o755, exist_ok=True)
    changed = []
    for name, text, mode in (
            ("acl", acl_text(accounts_, prefix, (agents, displays)), 0o644),
            ("passwd", passwd_text(entries), 0o600),
            ("bedboard.conf", conf_text(listeners, layout), 0o644),
            (LIMITS, limits_text(), 0o644)) + ((
                ("bridge.conf", bridge_text(hospitals[0], bridge.nodes, prefix,
                                            tls=bridge.tls, username=bridge.username,
                                            password=bridge_password), 0o640),)
                if bridge else ()):
        if write_file(os.path.join(out, name), text, mode):
            changed.append(name)
    left_over = tuple(u for u in secrets_.users() if u not in users)
    return Written(out=out, accounts=len(users), agents=agents, displays=displays,
                   new_passwords=tuple(made), changed=tuple(changed),
                   left_over=left_over, warnings=tuple(warnings))


def report(written):
    """The lines broker-config prints: what it wrote, and what to do next."""
    out = written.out
    operators = written.accounts - written.displays - written.agents
    lines = ["%s %s: %d accounts (%d operator(s), %d display(s), %d agent(s))" % (
        "wrote" if "acl" in written.changed else "unchanged", os.path.join(out, "acl"),
        written.accounts, operators, written.displays, written.agents)]
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
    lines.append("%s %s: install it as %s (the broker's open-file limit)" % (
        "wrote" if LIMITS in written.changed else "unchanged", os.path.join(out, LIMITS),
        "/etc/systemd/system/" + LIMITS))
    if os.path.exists(os.path.join(out, "bridge.conf")):
        lines.append("%s %s: install it in /etc/mosquitto/conf.d/ (mode 640, group "
                     "mosquitto)" % ("wrote" if "bridge.conf" in written.changed
                                     else "unchanged", os.path.join(out, "bridge.conf")))
    if written.left_over:
        lines.append("kept %s for %s, which no config names any more: not in passwd or "
                     "acl (delete the file when the device is gone for good)" % (
                         os.path.join(out, "secrets", "…"), ", ".join(written.left_over)))
    return lines
