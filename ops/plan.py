"""``bedboard plan INVENTORY --out DIR``: a whole hospital from its inventory, every time the same.

From one inventory (:mod:`ops.inventory`) it writes into ``DIR``:

* ``devices/ID/`` — each device's config, its password and the CA's
  certificate, named as they are on the Pi under /etc/bedboard
  (:mod:`ops.device_yaml`);
* ``broker/`` — what ``bedboard broker-config`` writes from those configs
  (:func:`ops.broker.broker_config`, the same code: ``acl``, ``passwd``,
  ``bedboard.conf``, the systemd drop-in), and with TLS the broker's
  certificate and key and the CA's certificate;
* ``ca/`` — the hospital's CA (:mod:`ops.ca`): ``ca.key`` mode 0600, which
  goes nowhere else, and ``ca.crt``;
* ``secrets/`` — every account's password (devices and operators), as
  broker-config keeps them;
* ``bundles/ID.tar.gz`` — one file per Pi, for ``bedboard install``
  (:mod:`ops.bundle`): that device's ``devices/ID/`` and nothing else;
* ``operators/NAME.yaml`` — each operator's config, naming its password and
  the CA where they are here.

Planning again changes nothing: every file is written only when its bytes
or mode would change (:func:`ops.files.write_file`), passwords and the CA
are kept, the broker's certificate is kept while it fits, the configs say
nothing of when they were made, and the bundles are packed the same way
each time.  A new ward therefore adds its device, its password and its
bundle, and changes the broker's ``acl`` and ``passwd``; nobody else's
files, and nobody's password.  As broker-config, it never makes a password
or a CA anew silently when the old one is gone.

Before anything is written the configs made are read by the devices' own
readers; anything they would refuse is told at the inventory's line.
"""

import logging
import os
import tempfile
from dataclasses import dataclass, field, replace

from bedboard.errors import ConfigError

from . import OpsError
from .broker import broker_config, make_out
from .broker_conf import Layout, Listeners
from .bundle import bundle_bytes
from .ca import Certificate, ca_problem, make_ca, make_server, why_not_kept
from .device_yaml import (AGENT_FILES, CA_FILE, DISPLAY_FILES, agent_text, display_text,
                          operator_text)
from .devices import AGENT, DISPLAY, files_elsewhere, read_device
from .files import write_file
from .inventory import read_inventory
from .passwd import Secrets

_LOG = logging.getLogger(__name__)

FOLDERS = ("ca", "secrets", "broker", "devices", "bundles", "operators")
SERVER_CERT, SERVER_KEY = "server.crt", "server.key"


@dataclass(frozen=True)
class Machine:
    """The broker machine, as broker-config's options say it: listeners and folders."""

    plain_listen: str = "127.0.0.1"
    plain_port: int = None          # None: 1883 (with TLS); the devices' port without
    tls_listen: str = None
    layout: Layout = Layout()


@dataclass(frozen=True)
class Made:
    """One device's config, made from the inventory."""

    id: str
    kind: str
    files: dict             # config, secret: the names in devices/ID/ and on the Pi
    text: str
    line: int               # where the inventory names it
    path: str
    meant: tuple            # what its device must read in it (see _read_back)


@dataclass
class Planned:
    """What one run of plan found and wrote, for the command to tell."""

    out: str
    inventory: object
    broker: object = None           # ops.broker.Written
    ca: str = None                  # "made", "kept", or None (no TLS)
    server: str = None              # "kept", or why it was made
    devices: dict = field(default_factory=dict)     # id → new, changed, unchanged
    left_over: tuple = ()


def made_configs(inventory):
    """Every device's config as text, in the inventory's order: a list of Made."""
    made = [Made(ward.agent, AGENT, AGENT_FILES, agent_text(inventory, ward), ward.line,
                 ward.path, (ward.agent, ward.hospital, ward.department, ward.id,
                             ward.capacity, len(ward.panel.buttons + ward.panel.beds)))
            for ward in inventory.wards]
    made += [Made(board.id, DISPLAY, DISPLAY_FILES, display_text(inventory, board),
                  board.line, board.path,
                  (board.id, board.hospital) + tuple((t.hospital, t.department, t.wards)
                                                     for t in board.tiles))
             for board in inventory.boards]
    return made


def _read_back(config):
    """What a device read in its config, as :class:`Made`'s ``meant`` says it."""
    settings = config.settings
    if config.kind == AGENT:
        ward = settings.ward
        return (settings.id, ward.hospital, ward.department, ward.ward, settings.capacity,
                len(settings.inputs))
    board = settings.board
    return (settings.display.id, board.hospital) + tuple(
        (t.hospital, t.department, t.wards) for t in board.tiles)


def _check_made(inventory, made, devices_folder):
    """Read each made config with its device's reader; problems at the inventory's lines.

    Returns the DeviceConfigs, each with the path it will have in
    ``devices_folder`` (so that everything said of it names that file).
    """
    name = os.path.basename(inventory.path)
    problems, read = [], []
    with tempfile.TemporaryDirectory(prefix="bedboard-plan-") as folder:
        for device in made:
            os.mkdir(os.path.join(folder, device.id))
            path = os.path.join(folder, device.id, device.files["config"])
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(device.text)
            try:
                config = read_device(path, files_elsewhere)
            except ConfigError as exc:
                problems += ["%s:%d: %s: the %s config made from this would be refused: "
                             "%s" % (name, device.line, device.path, device.kind, problem)
                             for problem in exc.problems]
                continue
            if _read_back(config) != device.meant:
                problems.append("%s:%d: %s: the %s config made from this reads back as %s, "
                                "not %s (a bug in bedboard plan)" % (
                                    name, device.line, device.path, device.kind,
                                    _read_back(config), device.meant))
            read.append(replace(config, path=os.path.join(
                devices_folder, device.id, device.files["config"])))
    if problems:
        raise ConfigError(problems)
    return read


def check_inventory(path):
    """Read the inventory at ``path`` and check every config plan would make of it.

    Returns the Inventory; raises ConfigError as :func:`plan` would, writing
    nothing (``bedboard check INVENTORY``).
    """
    inventory = read_inventory(path)
    _check_made(inventory, made_configs(inventory), "devices")
    return inventory


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _settle_ca(inventory, folders, new_ca):
    """The plan's CA, kept or made: ``(Certificate, "kept" | "made")``."""
    key_path = os.path.join(folders["ca"], "ca.key")
    cert_path = os.path.join(folders["ca"], CA_FILE)
    have = [p for p in (key_path, cert_path) if os.path.isfile(p)]
    if len(have) == 2 and not new_ca:
        ca = Certificate(_read(key_path), _read(cert_path))
        problem = ca_problem(ca)
        if problem:
            raise OpsError("%s: %s: give --new-ca to make a new CA (then install every "
                           "bundle again)" % (folders["ca"], problem))
        return ca, "kept"
    planned_before = have or os.path.isfile(os.path.join(folders["broker"], CA_FILE))
    if planned_before and not new_ca:
        raise ConfigError(["%s: the CA's key or certificate is gone, but this folder was "
                           "planned with one: a new CA now would make every device refuse "
                           "the broker until it is installed again. Restore ca/ from where "
                           "you keep it (with secrets/), or give --new-ca (then install "
                           "every bundle again)" % folders["ca"]])
    hospitals = " ".join(h.id for h in inventory.hospitals)
    ca = make_ca(("bedboard CA %s" % hospitals)[:64])
    write_file(key_path, ca.key_pem, 0o600)
    write_file(cert_path, ca.cert_pem, 0o644)
    return ca, "made"


def _settle_server(inventory, folders, ca):
    """The broker's certificate, kept while it fits: "kept", or why it was made."""
    cert_path = os.path.join(folders["broker"], SERVER_CERT)
    key_path = os.path.join(folders["broker"], SERVER_KEY)
    names = inventory.broker.names
    why = "there was none"
    if os.path.isfile(cert_path) and os.path.isfile(key_path):
        why = why_not_kept(Certificate(_read(key_path), _read(cert_path)), ca, names)
        if why is None:
            return "kept"
    server = make_server(ca, list(names))
    write_file(key_path, server.key_pem, 0o600)
    write_file(cert_path, server.cert_pem, 0o644)
    return "made (%s)" % why


def _listeners(inventory, machine, folders):
    """The broker's listeners, and where its TLS files are here (or None)."""
    broker = inventory.broker
    if not broker.tls:
        if machine.plain_port not in (None, broker.port):
            raise ConfigError(["--plain-port %d: without TLS the devices connect to the "
                               "plain listener, on the inventory's broker.port (%d)"
                               % (machine.plain_port, broker.port)])
        return Listeners(plain_address=machine.plain_listen, plain_port=broker.port), None
    etc = machine.layout.etc
    listeners = Listeners(plain_address=machine.plain_listen,
                          plain_port=machine.plain_port or 1883,
                          tls_address=machine.tls_listen, tls_port=broker.port,
                          tls_cert=os.path.join(etc, SERVER_CERT),
                          tls_key=os.path.join(etc, SERVER_KEY),
                          tls_ca=os.path.join(etc, CA_FILE))
    here = tuple(os.path.join(folders["broker"], name)
                 for name in (SERVER_CERT, SERVER_KEY, CA_FILE))
    return listeners, here


def plan(path, out, machine=Machine(), rotate=(), new_secrets=False, new_ca=False,
         legacy_set=False):
    """Plan the hospital of the inventory at ``path`` into ``out``; return Planned.

    Raises ConfigError (every problem, at its line) or OpsError.
    """
    inventory = read_inventory(path)
    made = made_configs(inventory)
    out = os.path.abspath(out)
    folders = {name: os.path.join(out, name) for name in FOLDERS}
    devices = _check_made(inventory, made, folders["devices"])
    for folder in [out] + list(folders.values()):
        make_out(folder)
    planned = Planned(out=out, inventory=inventory)
    listeners, tls_here = _listeners(inventory, machine, folders)
    ca_cert = None
    if inventory.broker.tls:
        ca, planned.ca = _settle_ca(inventory, folders, new_ca)
        planned.server = _settle_server(inventory, folders, ca)
        ca_cert = ca.cert_pem
        write_file(os.path.join(folders["broker"], CA_FILE), ca_cert, 0o644)

    changed, configs = {}, []
    for device in made:
        folder = os.path.join(folders["devices"], device.id)
        changed[device.id] = "changed" if os.path.isdir(folder) else "new"
        make_out(folder)
        config = os.path.join(folder, device.files["config"])
        configs.append(config)
        touched = write_file(config, device.text, 0o644)
        if ca_cert is not None:
            touched = write_file(os.path.join(folder, CA_FILE), ca_cert, 0o644) or touched
        if not touched:
            changed[device.id] = "unchanged"
    planned.broker = broker_config(configs, folders["broker"], listeners,
                                   machine.layout, operators=inventory.operators,
                                   rotate=rotate, new_secrets=new_secrets,
                                   legacy_set=legacy_set, secrets_dir=folders["secrets"],
                                   tls_here=tls_here, devices=devices)

    secrets_ = Secrets(folders["secrets"])
    for device in made:
        folder = os.path.join(folders["devices"], device.id)
        secret = (secrets_.read(device.id) + "\n").encode("utf-8")
        touched = write_file(os.path.join(folder, device.files["secret"]), secret, 0o600)
        members = [(device.files["config"], device.text.encode("utf-8"), 0o644),
                   (device.files["secret"], secret, 0o600)]
        if ca_cert is not None:
            members.append((CA_FILE, ca_cert, 0o644))
        touched = write_file(os.path.join(folders["bundles"], device.id + ".tar.gz"),
                             bundle_bytes(members), 0o600) or touched
        if touched and changed[device.id] == "unchanged":
            changed[device.id] = "changed"
    planned.devices = changed
    ca_path = os.path.join(folders["ca"], CA_FILE)
    for name in inventory.operators:
        write_file(os.path.join(folders["operators"], name + ".yaml"),
                   operator_text(inventory, name, secrets_.path(name), ca_path), 0o600)
    planned.left_over = tuple(sorted(set(os.listdir(folders["devices"])) - set(changed)))
    return planned


def report(planned):
    """The lines plan prints: what it wrote, what it kept, and what to do next."""
    inventory, out, written = planned.inventory, planned.out, planned.broker
    states = planned.devices
    lines = ["planned %s into %s: %d hospital(s), %d ward(s), %d board(s), %d operator(s)"
             % (inventory.path, out, len(inventory.hospitals), len(inventory.wards),
                len(inventory.boards), len(inventory.operators))]
    if planned.ca == "made":
        lines.append("  ca/: made the hospital's CA; keep ca/ca.key with secrets/, off the "
                     "network and backed up: it never goes to a device")
    elif planned.ca == "kept":
        lines.append("  ca/: kept the hospital's CA")
    else:
        lines.append("  ca/: none (the inventory's broker has tls: false)")
    broker_changed = list(written.changed) + (
        [SERVER_CERT] if planned.server and planned.server != "kept" else [])
    lines.append("  broker/: %s%s" % (
        "wrote " + ", ".join(broker_changed) if broker_changed else "unchanged",
        "; the certificate for %s %s" % (", ".join(inventory.broker.names), planned.server)
        if planned.server else ""))
    lines.append("  secrets/: %s" % ("%d new password(s): %s" % (
        len(written.new_passwords), _some(written.new_passwords))
        if written.new_passwords else "every password kept"))
    for state in ("new", "changed"):
        named = [i for i, s in states.items() if s == state]
        if named:
            lines.append("  devices/ and bundles/: %d %s: %s" % (len(named), state,
                                                                  _some(named)))
    lines.append("  devices/ and bundles/: %d unchanged" % sum(
        1 for s in states.values() if s == "unchanged"))
    if planned.left_over:
        lines.append("  left over in devices/ and bundles/: %s, which the inventory no "
                     "longer names (delete them once each device is gone)"
                     % _some(planned.left_over))
    if written.left_over:
        lines.append("  kept secrets/ of %s, which the inventory no longer names: not in "
                     "passwd or acl (delete them once each is gone for good)"
                     % _some(written.left_over))
    lines.append("next: install broker/ on the broker machine; copy bundles/ID.tar.gz to "
                 "each Pi and run sudo bedboard install ID.tar.gz there (docs/install.md)")
    return lines


def _some(names, shown=5):
    names = list(names)
    return ", ".join(names[:shown]) + (", … (%d in all)" % len(names)
                                       if len(names) > shown else "")
