"""``bedboard``: the command line of the people who run the system.

    bedboard broker-config CONFIG... --out DIR [--operator NAME] [--rotate ID] ...
    bedboard cluster-config CONFIG... --out DIR [--operator NAME] [--bridge HOSPITAL]
    bedboard plan INVENTORY --out DIR [--rotate ID] [--new-ca] ...
    bedboard install CONFIG|BUNDLE [--root DIR] [--dry-run] [--secret FILE] ...
    bedboard set --config CONFIG HOSPITAL/DEPARTMENT/WARD [--occupied N]
                 [--blocked N] [--capacity N] --by NAME [--reason TEXT]
    bedboard status --config CONFIG [--json] [--listen SECONDS] [--inventory FILE]
    bedboard check CONFIG|INVENTORY...

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

from . import OpsError, arguments
from .broker import broker_config, report
from .broker_conf import Layout, Listeners

_LOG = logging.getLogger(__name__)


# -- the parser ------------------------------------------------------------

def _broker_machine_args(parser, plain_port=1883):
    """The options broker-config and plan share: passwords, listeners, the broker's folders."""
    parser.add_argument("--rotate", action="append", default=[], metavar="ID",
                        help="give this device (or operator) a new password; repeatable")
    parser.add_argument("--new-secrets", action="store_true",
                        help="make new passwords for every account whose secrets/ file is "
                        "gone though passwd names it (each device then needs its new one)")
    parser.add_argument("--legacy-set", action="store_true",
                        help="operators may also send on the old, unattributed set topic "
                        "(agents and tools older than per-operator set topics)")
    parser.add_argument("--plain-listen", type=arguments.address_or_none, default="127.0.0.1",
                        metavar="ADDRESS", help="where plain MQTT listens (default "
                        "127.0.0.1: this machine only; 0.0.0.0: every interface; none: "
                        "off)")
    parser.add_argument("--plain-port", type=arguments.port, default=plain_port, metavar="PORT")
    parser.add_argument("--tls-listen", default=None, metavar="ADDRESS",
                        help="where TLS listens (default: every interface)")
    parser.add_argument("--etc", default=Layout.etc, metavar="DIR",
                        help="where the broker machine keeps acl and passwd "
                        "(default %s)" % Layout.etc)
    parser.add_argument("--data-dir", default=Layout.data_dir, metavar="DIR",
                        help="Mosquitto's persistence folder (default %s)"
                        % Layout.data_dir)
    parser.add_argument("--include-dir", type=arguments.address_or_none,
                        default=Layout.include_dir, metavar="DIR",
                        help="a folder of extra broker config, e.g. a bridge (default %s; "
                        "none: no such line)" % Layout.include_dir)


def build_parser():
    """The argparse parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="bedboard", description="The operators' tool of bedboard: plan a "
        "hospital, provision the broker, install a Pi, correct a ward, see the fleet.  "
        "Protocol: docs/contract.md.")
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
    cfg.add_argument("--operator", type=arguments.name, action="append", default=[],
                     metavar="NAME", help="an operator account (one per person: "
                     "repeatable), which may send corrections in its own name and "
                     "read everything (default: one, bed-manager)")
    _broker_machine_args(cfg)
    cfg.add_argument("--tls-cert", metavar="FILE", help="the broker's certificate "
                     "(with --tls-key and --tls-ca: a TLS listener)")
    cfg.add_argument("--tls-key", metavar="FILE", help="the broker's private key")
    cfg.add_argument("--tls-ca", metavar="FILE", help="the CA that signed it")
    cfg.add_argument("--tls-port", type=arguments.port, default=8883, metavar="PORT")
    cfg.add_argument("--bridge-to", type=arguments.nodes, default=None, metavar="HOST:PORT[,...]",
                     help="also write bridge.conf: this hospital's states, events and "
                          "statuses forwarded to the state cluster, every node listed")
    cfg.add_argument("--bridge-ca", metavar="FILE", help="the state cluster's CA, on the "
                     "broker host: the bridge uses TLS")
    cfg.add_argument("--bridge-cert", metavar="FILE", help="this hospital's client "
                     "certificate for the cluster (with --bridge-key)")
    cfg.add_argument("--bridge-key", metavar="FILE", help="its private key")
    cfg.add_argument("--bridge-user", type=arguments.name, metavar="NAME",
                     help="the bridge's user on the cluster (bedboard cluster-config "
                     "makes it: bridge-HOSPITAL)")
    cfg.add_argument("--bridge-password-file", metavar="FILE",
                     help="a file holding that user's password (written into "
                     "bridge.conf, mode 640)")
    cfg.add_argument("--bridge-insecure", action="store_true",
                     help="let the bridge go out without TLS or without a login")
    cfg.set_defaults(run=_broker_config)

    pla = commands.add_parser(
        "plan", help="from a hospital's inventory: every device's config, the broker's "
        "files, the CA and the broker's certificate, one bundle per Pi")
    pla.add_argument("inventory", metavar="INVENTORY", help="the hospital's inventory "
                     "(docs/config.md, \"The inventory\")")
    pla.add_argument("--out", required=True, metavar="DIR",
                     help="where to write ca/, secrets/, broker/, devices/, bundles/ and "
                     "operators/ (again: changes only what the inventory changed)")
    pla.add_argument("--new-ca", action="store_true",
                     help="make a new CA even though this folder had one (every device "
                     "then needs its bundle installed again)")
    _broker_machine_args(pla, plain_port=None)
    pla.set_defaults(run=_plan)

    clu = commands.add_parser(
        "cluster-config", help="write the NATS state cluster's accounts, users and "
        "permissions from the device configs")
    clu.add_argument("configs", nargs="+", metavar="CONFIG",
                     help="the configs of the devices that connect to the cluster (a "
                     "folder: every .yaml under it)")
    clu.add_argument("--out", required=True, metavar="DIR",
                     help="where to write accounts.conf and secrets/")
    clu.add_argument("--operator", type=arguments.name, action="append", default=[],
                     metavar="NAME", help="an operator account, one per person "
                     "(repeatable; default: one, bed-manager)")
    clu.add_argument("--bridge", type=arguments.slug, action="append", default=[],
                     metavar="HOSPITAL", help="a user bridge-HOSPITAL for that hospital's "
                     "broker bridge (repeatable)")
    clu.add_argument("--rotate", action="append", default=[], metavar="ID",
                     help="give this user a new password; repeatable")
    clu.add_argument("--new-secrets", action="store_true",
                     help="make new passwords for users whose secrets/ file is gone")
    clu.set_defaults(run=_cluster_config)

    inst = commands.add_parser("install", help="install a ward panel or a lobby "
                               "display on this Pi (as root)")
    inst.add_argument("config", metavar="CONFIG|BUNDLE", help="the device's config, or "
                      "its bundle from bedboard plan (ID.tar.gz: config, password and CA)")
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
    cor.add_argument("--occupied", type=arguments.count, metavar="N")
    cor.add_argument("--blocked", type=arguments.count, metavar="N")
    cor.add_argument("--capacity", type=arguments.count, metavar="N")
    cor.add_argument("--by", required=True, metavar="NAME",
                     help="who makes the correction (kept in the ward's audit trail)")
    cor.add_argument("--reason", metavar="TEXT", help="why, in one line (at most 200 "
                     "characters)")
    cor.add_argument("--wait", type=arguments.seconds, default=None, metavar="SECONDS",
                     help="how long to wait for the ward's answer (default: the "
                     "config's operator.wait, 10)")
    cor.add_argument("--broker", metavar="HOST[:PORT]",
                     help="use this broker instead of the config's")
    cor.set_defaults(run=_set)

    hol = commands.add_parser("hold", help="hold beds for a referral (the referral desk)")
    rel = commands.add_parser("release", help="release a hold, or take its bed when the "
                              "referred patient arrives")
    for sub in (hol, rel):
        sub.add_argument("--config", required=True, metavar="FILE",
                         help="the operator's config (its broker: section logs in)")
        sub.add_argument("ward", metavar="HOSPITAL/DEPARTMENT/WARD")
        sub.add_argument("--by", metavar="NAME", help="who asks (kept in the audit trail)")
        sub.add_argument("--reason", metavar="TEXT", help="why, in one line")
        sub.add_argument("--wait", type=arguments.seconds, default=None, metavar="SECONDS",
                         help="how long to wait for the ward's answer (default: the "
                         "config's operator.wait, 10)")
        sub.add_argument("--broker", metavar="HOST[:PORT]",
                         help="use this broker instead of the config's")
    hol.add_argument("--for", dest="for_whom", required=True, metavar="TEXT",
                     help='who the beds are held for, e.g. "Bankura SMC, ref 1234" '
                     "(never a patient's name)")
    hol.add_argument("--minutes", type=arguments.count, metavar="M",
                     help="how long the hold lasts (default: the agent's hold_minutes, "
                     "120)")
    hol.add_argument("--beds", type=arguments.count, default=1, metavar="N",
                     help="how many beds (default 1)")
    hol.set_defaults(run=_hold)
    rel.add_argument("--hold", metavar="ID", help="the hold (its id, as bedboard hold "
                     "printed it; default: the one expiring first)")
    rel.add_argument("--arrived", action="store_true", help="the referred patient "
                     "arrived: a held bed becomes occupied")
    rel.set_defaults(run=_release)

    sta = commands.add_parser("status", help="every ward and device, from the broker")
    sta.add_argument("--config", required=True, metavar="FILE",
                     help="an operator's config; a display's (what that board "
                     "shows, as it judges it); or an agent's (its own ward)")
    sta.add_argument("--json", action="store_true", help="one JSON document")
    sta.add_argument("--listen", type=arguments.seconds, default=5.0, metavar="SECONDS",
                     help="how long to listen for live messages (default 5; a "
                     "heartbeat × 1.25 tells every ward)")
    sta.add_argument("--hospital", type=arguments.slug, metavar="ID", help="only this hospital's wards")
    sta.add_argument("--devices", nargs="+", metavar="CONFIG",
                     help="the device configs (a folder: every .yaml under it): their "
                     "wards and devices are listed even when never heard")
    sta.add_argument("--inventory", metavar="INVENTORY",
                     help="a hospital's inventory: its every ward and device is listed, "
                     "never heard or not")
    sta.add_argument("--broker", metavar="HOST[:PORT]",
                     help="use this broker instead of the config's")
    sta.set_defaults(run=_status)

    chk = commands.add_parser("check", help="check configs (agent, display or operator) "
                              "and inventories")
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
                            rotate=args.rotate, bridge=arguments.bridge(args),
                            new_secrets=args.new_secrets, legacy_set=args.legacy_set)
    for warning in written.warnings:
        _LOG.warning("%s", warning)
    for line in report(written):
        print(line)
    return 0


def _plan(args):
    # pylint: disable=import-outside-toplevel
    from .plan import Machine, plan, report as plan_report
    layout = Layout(etc=args.etc, data_dir=args.data_dir, include_dir=args.include_dir)
    machine = Machine(plain_listen=args.plain_listen, plain_port=args.plain_port,
                      tls_listen=args.tls_listen, layout=layout)
    planned = plan(args.inventory, args.out, machine, rotate=args.rotate,
                   new_secrets=args.new_secrets, new_ca=args.new_ca,
                   legacy_set=args.legacy_set)
    for warning in planned.broker.warnings:
        _LOG.warning("%s", warning)
    for line in plan_report(planned):
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
    # pylint: disable=import-outside-toplevel
    from .bundle import install_bundle, is_bundle
    from .install import install
    if is_bundle(args.config):
        given = [flag for flag, value in (("--secret", args.secret), ("--ca", args.ca))
                 if value]
        if given:
            raise ConfigError(["%s: the bundle carries the device's password and CA"
                               % ", ".join(given)])
        return install_bundle(args.config, root=args.root, dry_run=args.dry_run,
                              uplink_token=args.uplink_token)
    return install(args.config, root=args.root, dry_run=args.dry_run,
                   secret=args.secret, ca=args.ca, uplink_token=args.uplink_token)


def _set(args):
    from .correct import correct_from_args  # pylint: disable=import-outside-toplevel
    return correct_from_args(args)


def _hold(args):
    from .hold import hold_from_args  # pylint: disable=import-outside-toplevel
    return hold_from_args(args)


def _release(args):
    from .hold import release_from_args  # pylint: disable=import-outside-toplevel
    return release_from_args(args)


def _status(args):
    from .status import status_from_args  # pylint: disable=import-outside-toplevel
    return status_from_args(args)


def _check(args):
    # pylint: disable=import-outside-toplevel
    from .devices import (check_together, config_paths, files_elsewhere, in_file_order,
                          read_device)
    from .inventory import is_inventory
    from .plan import check_inventory
    problems, devices, inventories = [], [], []
    judge = files_elsewhere if args.role == "broker" else None
    for path in config_paths(args.configs):
        try:
            if is_inventory(path):
                inventories.append((path, check_inventory(path)))
            else:
                devices.append(read_device(path, judge))
        except ConfigError as exc:
            problems += exc.problems
    problems += check_together(devices, one_broker=False)
    if problems:
        raise ConfigError(in_file_order(problems, devices))
    for device in devices:
        print("%s: OK: %s %s" % (device.path, device.kind, device.id or "(no username)"))
    for path, inventory in inventories:
        print("%s: OK: inventory of %s (%d ward(s), %d board(s), %d operator(s))" % (
            path, ", ".join(h.id for h in inventory.hospitals), len(inventory.wards),
            len(inventory.boards), len(inventory.operators)))
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
