"""``bedboard cluster-config``: the NATS state cluster's accounts, users and permissions.

The contract's "who may read and write what" holds on the state tier too:
from the same device configs as ``broker-config``, every device that
connects to the cluster, every operator and every hospital's bridge gets a
user of its own in one NATS account, with exactly the permissions the
hospital broker's ACL gives it (:mod:`ops.acl`), written as NATS subjects.
NATS maps an MQTT topic to a subject level by level (``/`` → ``.``, ``+`` →
``*``, ``#`` → ``>``), and, like Mosquitto, acknowledges a denied publish and
delivers nothing a subscription may not see (checked on a 3-node cluster).

One difference from Mosquitto: NATS refuses a subscription wider than the
user's permissions whole, where Mosquitto narrows it.  A board subscribes to
its tiles' departments (``crs/H/D/+/state``) and keeps only its tiles' wards,
so on the cluster a display may read the states of its tiles' departments —
bed counts, which every board shows anyway — or it would get nothing at all.

A hospital's bridge (``--bridge HOSPITAL``: user ``bridge-HOSPITAL``) may
publish that hospital's ward states and events and the statuses of the
devices its configs name, nothing else and read nothing.

It writes into ``--out``:

* ``accounts.conf`` — an ``accounts`` block for every node's config, beside
  it (``include bedboard-accounts.conf``: nats-server takes an include's path
  as relative to the file that includes it).  It holds the passwords
  in clear, mode 0600: NATS takes bcrypt hashes too, but Python's standard
  library makes none after 3.12, and a bcrypt check on every one of
  thousands of reconnects after a node loss is what a cluster can least
  afford; the file is kept like a key;
* ``secrets/ID`` — each user's password (mode 0600), kept across runs, and
  never made anew silently for a user that had one (as ``broker-config``).
"""

import json
import logging
import os
import re

from bedboard.errors import ConfigError
from bedboard.topics import status_topic, ward_filter

from .acl import Account, Rule, accounts
from .broker import make_out
from .devices import AGENT, DISPLAY, OPERATOR, check_together, files_elsewhere, read_devices
from .files import write_file
from .passwd import Secrets, missing_secrets, settle_secrets

_LOG = logging.getLogger(__name__)

ACCOUNT = "CRS"
_USER = re.compile(r'^\s*\{user: ("[^"\\]*"), password:', re.MULTILINE)


def subjects(topic_filter):
    """The NATS subjects that an MQTT topic filter stands for."""
    levels = topic_filter.split("/")
    if levels[-1] == "#":
        head = ".".join("*" if level == "+" else level for level in levels[:-1])
        return [head, head + ".>"] if head else [">"]
    return [".".join("*" if level == "+" else level for level in levels)]


def bridge_account(hospital, devices, prefix):
    """The user of ``hospital``'s bridge: its wards' states and events, its devices' statuses."""
    rules = [Rule("write", ward_filter(prefix, kind, hospital=hospital))
             for kind in ("state", "event")]
    own = sorted({d.id for d in devices
                  if (d.kind == AGENT and d.settings.ward.hospital == hospital)
                  or (d.kind == DISPLAY and d.settings.board.hospital == hospital)})
    rules += [Rule("write", status_topic(prefix, ident)) for ident in own]
    return Account("bridge-%s" % hospital, "hospital %s's bridge: its wards' states and "
                   "events, its %d device(s)' statuses" % (hospital, len(own)),
                   tuple(rules))


# Where NATS delivers a QoS 1 subscription (the subscriber's own JetStream
# consumer): a user that may subscribe at all needs it, or every QoS 1
# subscription fails ("Subscription Violation … $MQTT.sub.…").  It gives no
# one another's messages: an MQTT subscription to $MQTT/sub/# receives
# nothing (checked on a 3-node cluster).
QOS1_DELIVERY = "$MQTT.sub.>"


def board_reads(account, display, prefix):
    """``account`` (a display's) with what its board subscribes to: its tiles' departments."""
    tiles = display.settings.board.tiles
    if tiles is None:
        return account
    wider = [Rule("read", topic) for topic in dict.fromkeys(
        ward_filter(prefix, "state", hospital=t.hospital, department=t.department)
        for t in tiles)]
    return Account(account.user, account.heading + " (on the cluster: their departments' "
                   "states, which the board subscribes to)", account.rules + tuple(wider))


def _permissions(account):
    publish, subscribe = [], []
    for rule in account.rules:
        if rule.access in ("write", "readwrite"):
            publish += subjects(rule.topic)
        if rule.access in ("read", "readwrite"):
            subscribe += subjects(rule.topic)
    if subscribe:
        subscribe.append(QOS1_DELIVERY)
    return {"publish": {"allow": publish} if publish else {"deny": [">"]},
            "subscribe": {"allow": subscribe} if subscribe else {"deny": [">"]}}


def accounts_text(accounts_, passwords, counts):
    """The ``accounts`` block: one NATS account, a user per account with its permissions."""
    lines = [
        "# bedboard's state cluster accounts (nats-server), written by \"bedboard",
        "# cluster-config\" from the configs of %d agent(s), %d display(s) and %d "
        "bridge(s)." % counts,
        "# Do not edit by hand: change the device configs and run it again.  Every",
        "# node's nats.conf includes it from beside it: include bedboard-accounts.conf",
        "# (mode 600: it holds the passwords).  Who may read what: docs/contract.md.",
        "accounts {",
        "  %s {" % ACCOUNT,
        "    jetstream: enabled",
        "    users: [",
    ]
    for account in accounts_:
        lines.append("      # %s" % account.heading)
        lines.append("      {user: %s, password: %s, permissions: %s}" % (
            json.dumps(account.user), json.dumps(passwords[account.user]),
            json.dumps(_permissions(account))))
    lines += ["    ]", "  }", "}"]
    return "\n".join(lines) + "\n"


def cluster_config(configs, out, operators=("bed-manager",), bridges=(), rotate=(),
                   new_secrets=False):
    """Read ``configs``, write the cluster's ``accounts.conf`` and ``secrets/``; return lines to print.

    Raises ConfigError (every problem) or OpsError.
    """
    operators = list(dict.fromkeys(operators))
    devices = read_devices(configs, files_elsewhere)
    problems = check_together(devices, operators)
    hardware = [d for d in devices if d.kind != OPERATOR]
    if not hardware:
        problems.append("%s: no agent or display config among them" % ", ".join(configs))
    hospitals = {d.settings.ward.hospital for d in hardware if d.kind == AGENT}
    problems += ["--bridge %s: no agent in these configs counts a ward of it" % hospital
                 for hospital in bridges if hospital not in hospitals]
    if problems:
        raise ConfigError(problems)
    prefix = hardware[0].broker.prefix
    accounts_, warnings = accounts(devices, operators, prefix)
    displays = {d.id: d for d in hardware if d.kind == DISPLAY}
    accounts_ = [board_reads(a, displays[a.user], prefix) if a.user in displays else a
                 for a in accounts_]
    accounts_ += [bridge_account(h, hardware, prefix) for h in dict.fromkeys(bridges)]
    users = [a.user for a in accounts_]
    unknown = [name for name in rotate if name not in users]
    if unknown:
        raise ConfigError(["--rotate %s: no device, operator or bridge of that name"
                           % name for name in unknown])
    make_out(out)
    secrets_ = Secrets(os.path.join(out, "secrets"))
    path = os.path.join(out, "accounts.conf")
    named = _users_in(path)
    if not new_secrets:
        lost = missing_secrets(users, secrets_, named, set(rotate))
        if lost:
            raise ConfigError(["%s names %s, but %s: a new password now would lock "
                               "%s out. Restore secrets/, or give --rotate ID, or "
                               "--new-secrets" % (path, ", ".join(lost),
                                                  "its secrets/ file is gone"
                                                  if len(lost) == 1 else
                                                  "their secrets/ files are gone",
                                                  "it" if len(lost) == 1 else "them")])
    passwords, made = settle_secrets(users, secrets_, rotate=set(rotate))
    agents = sum(1 for d in hardware if d.kind == AGENT)
    text = accounts_text(accounts_, passwords,
                         (agents, len(hardware) - agents, len(set(bridges))))
    changed = write_file(path, text, 0o600)
    lines = ["%s %s: %d users (%d operator(s), %d device(s), %d bridge(s))" % (
        "wrote" if changed else "unchanged", path, len(users), len(operators),
        len(hardware), len(set(bridges)))]
    lines.append("%d new password(s)%s, each in %s" % (
        len(made), " (%s)" % ", ".join(made[:3]) + (", …" if len(made) > 3 else "")
        if made else "", os.path.join(out, "secrets", "ID")))
    return lines, warnings


def _users_in(path):
    """The users an existing accounts.conf names (``{user: ""}``), to keep their passwords."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(["%s: cannot read: %s" % (path, exc.strerror or exc)]) from None
    return {json.loads(name): "" for name in _USER.findall(text)}
