"""Who may read and write what on the hospital's broker, derived from the device configs.

Every device logs in with its device id as user name, so each gets its own
``user`` block, and every rule in it follows from the device's config
(docs/contract.md, "Who may read and write what"):

* an agent writes its ward's ``state``, ``event`` and ``reply`` and its own
  ``status``; it reads back its ward's ``state`` and its own ``status``
  (to recover a lost ledger) and its ward's ``set``;
* a display reads the ``state`` of exactly the wards its tiles show (its
  hospital's, without tiles) and the ``status`` of the agents that count
  them, and writes its own ``status``;
* each operator account (one per person, ``--operator NAME``) writes any
  ward's ``set/NAME`` — its own name as the last level, so the agent knows
  from the topic, as the broker vouches for it, *who* corrected — and reads
  everything.  With ``legacy_set`` it may also write the old, unattributed
  ``set`` (for tools and agents from before per-operator topics, during an
  upgrade).

Nothing is written by hand, and Mosquitto denies whatever is not listed.
"""

import logging
from dataclasses import dataclass

from bedboard.topics import status_topic, ward_filter, ward_topic

from .devices import AGENT, DISPLAY

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    """One ``topic ACCESS TOPIC`` line of a user's block."""

    access: str     # read, write or readwrite
    topic: str


@dataclass(frozen=True)
class Account:
    """One user of the broker and what it may do."""

    user: str
    heading: str    # the comment above its block
    rules: tuple


def agent_account(agent, prefix):
    """The account of an agent: its own ward and its own status, nothing else."""
    ward = agent.settings.ward
    rules = (Rule("readwrite", ward_topic(prefix, ward, "state")),
             Rule("write", ward_topic(prefix, ward, "event")),
             Rule("write", ward_topic(prefix, ward, "reply")),
             Rule("read", ward_topic(prefix, ward, "set")),
             Rule("read", ward_topic(prefix, ward, "set") + "/+"),
             Rule("readwrite", status_topic(prefix, agent.id)))
    return Account(agent.id, "agent %s (%s): ward %s" % (agent.id, agent.name, ward),
                   rules)


def display_account(display, agents, prefix):
    """The account of a display, and warnings about tiles no agent serves.

    It reads the states its tiles need and the statuses of the agents (among
    ``agents``) that count those wards.
    """
    board = display.settings.board
    reads, warnings = [], []
    if board.tiles is None:
        reads.append(ward_filter(prefix, "state", hospital=board.hospital))
        covered = [a for a in agents if a.settings.ward.hospital == board.hospital]
        if not covered:
            warnings.append("%s: no agent in these configs counts a ward of %s: the "
                            "board will have no tiles" % (display.where("board.hospital"),
                                                          board.hospital))
    else:
        covered = []
        for index, tile in enumerate(board.tiles):
            if tile.wards is None:
                reads.append(ward_filter(prefix, "state", hospital=tile.hospital,
                                         department=tile.department))
            else:
                reads += [ward_topic(prefix, key, "state") for key in tile.expected()]
            serving = [a for a in agents if tile.covers(a.settings.ward)]
            covered += serving
            missing = [] if tile.wards is None else [
                str(key) for key in tile.expected()
                if not any(a.settings.ward == key for a in serving)]
            if not serving or missing:
                warnings.append("%s: no agent in these configs counts %s: the tile will "
                                "say NOT REPORTING until one does" % (
                                    display.where("board.tiles"),
                                    ", ".join(missing) if missing else
                                    "a ward of %s/%s" % (tile.hospital, tile.department)))
    rules = [Rule("write", status_topic(prefix, display.id))]
    rules += [Rule("read", topic) for topic in _unique(reads)]
    rules += [Rule("read", status_topic(prefix, agent_id))
              for agent_id in sorted({a.id for a in covered})]
    what = ("its tiles' wards" if board.tiles is not None
            else "hospital %s's wards" % board.hospital)
    return Account(display.id, "display %s (%s): %s and their agents' statuses"
                   % (display.id, display.name, what), tuple(rules)), warnings


def operator_account(name, prefix, legacy_set=False):
    """An operator's account: corrections in its own name to any ward; reads everything."""
    rules = [Rule("write", "%s/%s" % (ward_filter(prefix, "set"), name))]
    heading = "operator %s: corrections (set/%s) to any ward; reads everything" % (
        name, name)
    if legacy_set:
        rules.append(Rule("write", ward_filter(prefix, "set")))
        heading += "; also the old, unattributed set (--legacy-set)"
    rules.append(Rule("read", "%s/#" % prefix))
    return Account(name, heading, tuple(rules))


def _unique(items):
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def accounts(devices, operators, prefix, legacy_set=False):
    """Every account, in a stable order (operators, displays, agents), and warnings."""
    agents = sorted((d for d in devices if d.kind == AGENT),
                    key=lambda d: (d.settings.ward, d.id))
    displays = sorted((d for d in devices if d.kind == DISPLAY), key=lambda d: d.id)
    result = [operator_account(name, prefix, legacy_set) for name in operators]
    warnings = []
    for display in displays:
        account, said = display_account(display, agents, prefix)
        result.append(account)
        warnings += said
    result += [agent_account(agent, prefix) for agent in agents]
    return result, warnings


def acl_text(accounts_, prefix, counts):
    """The acl_file for Mosquitto.  ``counts``: how many agents and displays."""
    agents, displays = counts
    lines = [
        "# bedboard's broker ACL (Mosquitto acl_file), generated by",
        "# \"bedboard broker-config\" from the configs of %d agent(s) and %d display(s)."
        % (agents, displays),
        "# Do not edit by hand: change the device configs and run bedboard",
        "# broker-config again (docs/contract.md, \"Who may read and write what\").",
        "#",
        "# Every device logs in with its device id as user name; Mosquitto denies",
        "# whatever is not allowed below.  Topic prefix: %s." % prefix,
    ]
    for account in accounts_:
        lines += ["", "# %s" % account.heading, "user %s" % account.user]
        lines += ["topic %s %s" % (rule.access, rule.topic) for rule in account.rules]
    return "\n".join(lines) + "\n"
