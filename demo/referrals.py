"""The demo's checks and holds (issue 20): counts confirmed, one ward overdue, beds
held for a referral — one taken when its patient arrives, one left to expire.

Sent as a referral desk and a bed manager would: SetCommands on the wards'
``set`` topic (docs/contract.md, "Checks and holds"), on the demo's own
anonymous broker.  A count a bed manager sets is a count someone looked at,
so each ward's first correction (its own counts again) is its check.
"""

import itertools
import logging

from agent.commands import set_topic
from bedboard.payloads import SetCommand

_LOG = logging.getLogger(__name__)

REFERRALS = ("Bankura SMC, ref 1234", "Purulia DH, ref 0872", "Malda MC, ref 2211")


class Referrals:
    """Checks the wards' counts and holds beds for referrals, through ``activity``'s link."""

    def __init__(self, activity):
        self.activity = activity
        self.overdue = None             # the ward left unchecked: its tile says so
        self.checked = set()
        self.taken_hold = None          # (agent id, hold id) waiting for its patient
        self._ids = itertools.count(1)

    def _send(self, agent_id, **fields):
        activity = self.activity
        key = activity.wards[agent_id].key
        command = SetCommand(by="demo referral desk", id="demo-%d" % next(self._ids),
                             **fields)
        activity._link.publish(set_topic(activity._prefix, key), command.to_json())
        return command.id

    def check_counts(self):
        """Confirm every ward's count once — all but one, which stays overdue."""
        activity = self.activity
        for agent_id in sorted(activity.wards):
            state = activity.state(agent_id)
            if state is None or agent_id in self.checked or state.held is None:
                continue
            if self.overdue is None:
                self.overdue = agent_id
                activity.say("demo: nobody checks %s's count (its tile says "
                             "'count not checked')" % agent_id)
            if agent_id == self.overdue or state.checked is not None:
                self.checked.add(agent_id)
                continue
            self._send(agent_id, occupied=state.occupied, reason="count checked on the round")
            self.checked.add(agent_id)

    def _ward_with_room(self, avoid=()):
        activity = self.activity
        for tile in activity._free_tiles():
            for agent_id in tile:
                state = activity.state(agent_id)
                if agent_id not in avoid and state.held is not None and state.vacant >= 2:
                    return agent_id
        return None

    def hold(self):
        """Hold a bed for a referral on its way; its patient arrives later (:meth:`arrive`)."""
        agent_id = self._ward_with_room()
        if agent_id is None:
            return False
        hold_id = self._send(agent_id, hold={"for": REFERRALS[0], "minutes": 60, "beds": 1})
        self.taken_hold = (agent_id, hold_id)
        self.activity._busy.add(agent_id)
        self.activity.say("demo: a bed of %s held for %s" % (agent_id, REFERRALS[0]))
        return True

    def arrive(self):
        """The referred patient arrives: the held bed becomes occupied."""
        if self.taken_hold is None:
            return None
        agent_id, hold_id = self.taken_hold
        self.taken_hold = None
        self._send(agent_id, release={"hold": hold_id, "arrived": True})
        self.activity._busy.discard(agent_id)
        self.activity.say("demo: the referral for %s arrived: its held bed is taken"
                          % agent_id)
        return None

    def hold_to_expire(self):
        """Hold a bed for a minute and let it run out: the agent frees it by itself."""
        avoid = () if self.taken_hold is None else (self.taken_hold[0],)
        agent_id = self._ward_with_room(avoid)
        if agent_id is None:
            return False
        self._send(agent_id, hold={"for": REFERRALS[1], "minutes": 1, "beds": 1})
        self.activity.say("demo: a bed of %s held for %s for one minute; nobody comes, "
                          "it expires" % (agent_id, REFERRALS[1]))
        return True
