"""``bedboard``: the command line of the people who run the system.

    bedboard broker-config CONFIG... --out DIR [--operator NAME] [--rotate ID] ...
    bedboard cluster-config CONFIG... --out DIR [--operator NAME] [--bridge HOSPITAL]
    bedboard install CONFIG [--root DIR] [--dry-run] [--secret FILE] ...
    bedboard set --config CONFIG HOSPITAL/DEPARTMENT/WARD [--occupied N]
                 [--blocked N] [--capacity N] --by NAME [--reason TEXT]
    bedboard status --config CONFIG [--json] [--listen SECONDS]
    bedboard check CONFIG...

Exit status, as bed-agent's and bed-display's: 0 on success, 2 for a usage
or config error (every problem on its own line as ``file:line: key: text``),
1 for anything else, in one line and without a traceback (``--verbose``
shows it).  The protocol it speaks is ``docs/contract.md``.
"""

import argparse
import logging
import os
import sys

from bedboard.errors import BedboardError, ConfigError
from bedboard.settings import parse_address
from bedboard.topics import check_device_id, check_slug

from . import OpsError
from .broker import Bridge, broker_config, report
from .broker_conf import Layout, Listeners

_LOG = logging.getLogger(__name__)


# -- argument types --------------------------------------------------------

def _port(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a port number, got %r" % text) from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be between 1 and 65535, got %d" % value)
    return value


def _count(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number, got %r" % text) from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative, got %d" % value)
    return value


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of seconds, got %r"
                                         % text) from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0 and 3600, got %s" % text)
    return value


def _name(text):
    try:
        return check_device_id(text, "name")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _slug(text):
    try:
        return check_slug(text, "hospital")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _address_or_none(text):
    return None if text.lower() == "none" else text


# -- the parser ------------------------------------------------------------

def _bridge(args):
    """The Bridge the command line describes, or None."""
    if bool(args.bridge_cert) != bool(args.bridge_key):
        raise ConfigError(["--bridge-cert and --bridge-key go together"])
    if bool(args.bridge_user) != bool(args.bridge_password_file):
        raise ConfigError(["--bridge-user and --bridge-password-file go together"])
    given = [flag for flag, value in (
        ("--bridge-ca", args.bridge_ca), ("--bridge-cert", args.bridge_cert),
        ("--bridge-user", args.bridge_user), ("--bridge-insecure", args.bridge_insecure))
        if value]
    if given and not args.bridge_to:
        raise ConfigError(["%s: needs --bridge-to" % ", ".join(given)])
    if args.bridge_cert and not args.bridge_ca:
        raise ConfigError(["--bridge-cert needs --bridge-ca (the cluster's CA)"])
    if not args.bridge_to:
        return None
    tls = (args.bridge_ca, args.bridge_cert, args.bridge_key) if args.bridge_ca else None
    return Bridge(nodes=args.bridge_to, tls=tls, username=args.bridge_user,
                  password_file=args.bridge_password_file,
                  insecure=args.bridge_insecure)


def _nodes(text):
    nodes = []
    for part in text.split(","):
        try:
            nodes.append(parse_address(part.strip(), 1883))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return nodes


def build_parser():
    """The argparse parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="bedboard", description="The operators' tool of bedboard: provision the "
        "broker, install a Pi, correct a ward, see the fleet.  Protocol: "
        "docs/contract.md.")
    parser.add_argument("--verbose", action="store_true",
                        help="debug logging, and a traceback on an unexpected error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    cfg = commands.add_parser(
        "broker-config", help="write the broker's ACL, passwords and mosquitto.conf "
        "from the device configs")
    cfg.add_argument("configs", nargs="+", metavar="CONFIG",
                     help="agent and display configs; a folder stands for every "
                     ".yaml under it")
    cfg.add_argument("--out", required=True, metavar="DIR",
                     help="where to write acl, passwd, secrets/ and bedboard.conf")
    cfg.add_argument("--operator", type=_name, action="append", default=[],
                     metavar="NAME", help="an operator account (one per person: "
                     "repeatable), which may send corrections in its own name and "
                     "read everything (default: one, bed-manager)")
    cfg.add_argument("--rotate", action="append", default=[], metavar="ID",
                     help="give this device (or operator) a new password; repeatable")
    cfg.add_argument("--new-secrets", action="store_true",
                     help="make new passwords for every account whose secrets/ file is "
                     "gone though passwd names it (each device then needs its new one)")
    cfg.add_argument("--legacy-set", action="store_true",
                     help="operators may also send on the old, unattributed set topic "
                     "(agents and tools older than per-operator set topics)")
    cfg.add_argument("--plain-listen", type=_address_or_none, default="127.0.0.1",
                     metavar="ADDRESS", help="where plain MQTT listens (default "
                     "127.0.0.1: this machine only; 0.0.0.0: every interface; none: off)")
    cfg.add_argument("--plain-port", type=_port, default=1883, metavar="PORT")
    cfg.add_argument("--tls-cert", metavar="FILE", help="the broker's certificate "
                     "(with --tls-key and --tls-ca: a TLS listener)")
    cfg.add_argument("--tls-key", metavar="FILE", help="the broker's private key")
    cfg.add_argument("--tls-ca", metavar="FILE", help="the CA that signed it")
    cfg.add_argument("--tls-listen", default=None, metavar="ADDRESS",
                     help="where TLS listens (default: every interface)")
    cfg.add_argument("--tls-port", type=_port, default=8883, metavar="PORT")
    cfg.add_argument("--bridge-to", type=_nodes, default=None, metavar="HOST:PORT[,...]",
                     help="also write bridge.conf: this hospital's states, events and "
                          "statuses forwarded to the state cluster, every node listed")
    cfg.add_argument("--bridge-ca", metavar="FILE", help="the state cluster's CA, on the "
                     "broker host: the bridge uses TLS")
    cfg.add_argument("--bridge-cert", metavar="FILE", help="this hospital's client "
                     "certificate for the cluster (with --bridge-key)")
    cfg.add_argument("--bridge-key", metavar="FILE", help="its private key")
    cfg.add_argument("--bridge-user", type=_name, metavar="NAME",
                     help="the bridge's user on the cluster (bedboard cluster-config "
                     "makes it: bridge-HOSPITAL)")
    cfg.add_argument("--bridge-password-file", metavar="FILE",
                     help="a file holding that user's password (written into "
                     "bridge.conf, mode 640)")
    cfg.add_argument("--bridge-insecure", action="store_true",
                     help="let the bridge go out without TLS or without a login")
    cfg.add_argument("--etc", default=Layout.etc, metavar="DIR",
                     help="where the broker machine keeps acl and passwd "
                     "(default %s)" % Layout.etc)
    cfg.add_argument("--data-dir", default=Layout.data_dir, metavar="DIR",
                     help="Mosquitto's persistence folder (default %s)" % Layout.data_dir)
    cfg.add_argument("--include-dir", type=_address_or_none, default=Layout.include_dir,
                     metavar="DIR", help="a folder of extra broker config, e.g. a "
                     "bridge (default %s; none: no such line)" % Layout.include_dir)
    cfg.set_defaults(run=_broker_config)

    clu = commands.add_parser(
        "cluster-config", help="write the NATS state cluster's accounts, users and "
        "permissions from the device configs")
    clu.add_argument("configs", nargs="+", metavar="CONFIG",
                     help="the configs of the devices that connect to the cluster (a "
                     "folder: every .yaml under it)")
    clu.add_argument("--out", required=True, metavar="DIR",
                     help="where to write accounts.conf and secrets/")
    clu.add_argument("--operator", type=_name, action="append", default=[],
                     metavar="NAME", help="an operator account, one per person "
                     "(repeatable; default: one, bed-manager)")
    clu.add_argument("--bridge", type=_slug, action="append", default=[],
                     metavar="HOSPITAL", help="a user bridge-HOSPITAL for that hospital's "
                     "broker bridge (repeatable)")
    clu.add_argument("--rotate", action="append", default=[], metavar="ID",
                     help="give this user a new password; repeatable")
    clu.add_argument("--new-secrets", action="store_true",
                     help="make new passwords for users whose secrets/ file is gone")
    clu.set_defaults(run=_cluster_config)

    inst = commands.add_parser("install", help="install a ward panel or a lobby "
                               "display on this Pi (as root)")
    inst.add_argument("config", metavar="CONFIG", help="the device's config")
    inst.add_argument("--root", metavar="DIR", help="install into this folder instead "
                      "of / (skips what only a running system can do, and says so)")
    inst.add_argument("--dry-run", action="store_true",
                      help="print each step, change nothing")
    inst.add_argument("--secret", metavar="FILE", help="the device's broker password "
                      "(broker-config's secrets/ID), installed as broker.password_file")
    inst.add_argument("--ca", metavar="FILE", help="the CA certificate of the broker, "
                      "installed as broker.tls.ca")
    inst.add_argument("--uplink-token", metavar="FILE", help="the portal's token, "
                      "installed as uplink.token_file")
    inst.set_defaults(run=_install)

    cor = commands.add_parser("set", help="correct a ward's count (the bed manager)")
    cor.add_argument("--config", required=True, metavar="FILE",
                     help="the operator's config (its broker: section logs in)")
    cor.add_argument("ward", metavar="HOSPITAL/DEPARTMENT/WARD")
    cor.add_argument("--occupied", type=_count, metavar="N")
    cor.add_argument("--blocked", type=_count, metavar="N")
    cor.add_argument("--capacity", type=_count, metavar="N")
    cor.add_argument("--by", required=True, metavar="NAME",
                     help="who makes the correction (kept in the ward's audit trail)")
    cor.add_argument("--reason", metavar="TEXT", help="why, in one line (at most 200 "
                     "characters)")
    cor.add_argument("--wait", type=_seconds, default=None, metavar="SECONDS",
                     help="how long to wait for the ward's answer (default: the "
                     "config's operator.wait, 10)")
    cor.add_argument("--broker", metavar="HOST[:PORT]",
                     help="use this broker instead of the config's")
    cor.set_defaults(run=_set)

    sta = commands.add_parser("status", help="every ward and device, from the broker")
    sta.add_argument("--config", required=True, metavar="FILE",
                     help="an operator's config; a display's (what that board "
                     "shows, as it judges it); or an agent's (its own ward)")
    sta.add_argument("--json", action="store_true", help="one JSON document")
    sta.add_argument("--listen", type=_seconds, default=5.0, metavar="SECONDS",
                     help="how long to listen for live messages (default 5; a "
                     "heartbeat × 1.25 tells every ward)")
    sta.add_argument("--hospital", type=_slug, metavar="ID", help="only this hospital's wards")
    sta.add_argument("--devices", nargs="+", metavar="CONFIG",
                     help="the device configs (a folder: every .yaml under it): their "
                     "wards and devices are listed even when never heard")
    sta.add_argument("--broker", metavar="HOST[:PORT]",
                     help="use this broker instead of the config's")
    sta.set_defaults(run=_status)

    chk = commands.add_parser("check", help="check configs (agent, display or operator)")
    chk.add_argument("configs", nargs="+", metavar="CONFIG",
                     help="configs; a folder stands for every .yaml under it")
    chk.add_argument("--role", choices=("broker", "device"), default="broker",
                     help="broker (default): where the configs are kept — the files "
                     "they name are on the devices, not checked here; device: on the "
                     "device itself — they must be here")
    chk.set_defaults(run=_check)
    return parser


# -- the subcommands -------------------------------------------------------

def _broker_config(args):
    tls = (args.tls_cert, args.tls_key, args.tls_ca)
    if any(tls) and not all(tls):
        raise ConfigError(["--tls-cert, --tls-key and --tls-ca go together: give all "
                           "three or none"])
    if args.plain_listen is None and not all(tls):
        raise ConfigError(["--plain-listen none leaves no listener: give --tls-cert, "
                           "--tls-key and --tls-ca"])
    absolute = os.path.abspath
    listeners = Listeners(plain_address=args.plain_listen, plain_port=args.plain_port,
                          tls_address=args.tls_listen, tls_port=args.tls_port,
                          tls_cert=absolute(args.tls_cert) if args.tls_cert else None,
                          tls_key=absolute(args.tls_key) if args.tls_key else None,
                          tls_ca=absolute(args.tls_ca) if args.tls_ca else None)
    layout = Layout(etc=args.etc, data_dir=args.data_dir, include_dir=args.include_dir)
    written = broker_config(args.configs, args.out, listeners, layout,
                            operators=args.operator or ["bed-manager"],
                            rotate=args.rotate, bridge=_bridge(args),
                            new_secrets=args.new_secrets, legacy_set=args.legacy_set)
    for warning in written.warnings:
        _LOG.warning("%s", warning)
    for line in report(written):
        print(line)
    return 0


def _cluster_config(args):
    from .cluster_conf import cluster_config  # pylint: disable=import-outside-toplevel
    lines, warnings = cluster_config(args.configs, args.out,
                                     operators=args.operator or ["bed-manager"],
                                     bridges=args.bridge, rotate=args.rotate,
                                     new_secrets=args.new_secrets)
    for warning in warnings:
        _LOG.warning("%s", warning)
    for line in lines:
        print(line)
    return 0


def _install(args):
    from .install import install      # pylint: disable=import-outside-toplevel
    return install(args.config, root=args.root, dry_run=args.dry_run,
                   secret=args.secret, ca=args.ca, uplink_token=args.uplink_token)


def _set(args):
    from .correct import correct_from_args  # pylint: disable=import-outside-toplevel
    return correct_from_args(args)


def _status(args):
    from .status import status_from_args  # pylint: disable=import-outside-toplevel
    return status_from_args(args)


def _check(args):
    # pylint: disable=import-outside-toplevel
    from .devices import (check_together, config_paths, files_elsewhere, in_file_order,
                          read_device)
    problems, devices = [], []
    judge = files_elsewhere if args.role == "broker" else None
    for path in config_paths(args.configs):
        try:
            devices.append(read_device(path, judge))
        except ConfigError as exc:
            problems += exc.problems
    problems += check_together(devices, one_broker=False)
    if problems:
        raise ConfigError(in_file_order(problems, devices))
    for device in devices:
        print("%s: OK: %s %s" % (device.path, device.kind, device.id or "(no username)"))
    if args.role == "broker" and any(device.files for device in devices):
        print("(the files the configs name are on the devices and were not looked for "
              "here: bedboard check --role device there, or the program's --check)")
    return 0


# -- running ---------------------------------------------------------------

class _Formatter(logging.Formatter):
    """``bedboard: warning: …``: the level in lower case, as a person reads it."""

    def format(self, record):
        record.levelname = record.levelname.lower()
        return super().format(record)


def main(argv=None):
    """Run one subcommand; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(_Formatter("bedboard: %(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        handlers=[handler])
    # paho's own log lines are not for an operator: every failure is said once,
    # in words, by the command itself (and a stray "Client is not connected" at
    # ERROR, which paho logs when its loop outlives the socket at the end of a
    # session, is no failure at all).
    logging.getLogger("bedboard.paho").setLevel(
        logging.DEBUG if args.verbose else logging.CRITICAL)
    try:
        return args.run(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except (OpsError, BedboardError) as exc:
        print("bedboard: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bedboard: interrupted", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback
        if args.verbose:
            raise
        print("bedboard: unexpected error: %s: %s (run with --verbose for details)"
              % (type(exc).__name__, exc), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
