"""Checks and holds in the world's state machine (issue 20): a nurse checking the
count, a bed held for a referral from the panel or the referral desk, a hold
ending, and time passing to the moment a check falls due — rules of
:class:`tests.world_machine.WorldMachine`, which this mixin is part of."""

from hypothesis import strategies as st
from hypothesis.stateful import rule

from .world_wards import HOLD_MINUTES, WARDS


class ChecksAndHolds:
    """The checks-and-holds rules (the machine's ``_agent``, ``_back_up`` and
    ``_change`` do the rest)."""

    def _holds_from(self, agent, state):
        """The holds of the broker's copy, each with the time it had left; held beds
        it counts but does not list, one hold of hold_minutes (docs/contract.md)."""
        if not agent.new or not state.held:
            return
        t = self.world.t
        for hold in state.holds:
            agent.holds[hold.id] = (hold.beds, t + hold.left, hold.for_whom)
        rest = state.held - sum(h.beds for h in state.holds)
        if rest > 0:
            agent.holds["copy-%d" % self.world.boots] = (rest, t + HOLD_MINUTES * 60, None)

    @rule(key=st.sampled_from(WARDS))
    def a_nurse_checks_the_count(self, key):
        agent = self._agent(key)
        if agent is None or not agent.new:
            return                      # an old agent has no checks
        self._back_up(agent)
        agent.check()
        self._change(agent, agent.counts, "checked")

    @rule(key=st.sampled_from(WARDS), minutes=st.sampled_from((1.0, 4.0, HOLD_MINUTES)),
          desk=st.booleans())
    def a_bed_is_held_for_a_referral(self, key, minutes, desk):
        """From the panel (for the panel, hold_minutes) or ``bedboard hold``."""
        agent = self._agent(key)
        if agent is None or not agent.new:
            return                      # an old agent refuses a hold
        capacity, occupied, blocked = agent.counts
        if capacity - occupied - blocked < 1:
            return                      # refused: no vacant bed to hold
        self._back_up(agent)
        self.holds += 1
        if not desk:
            minutes = HOLD_MINUTES
        agent.holds["hold-%d" % self.holds] = (
            1, self.world.t + minutes * 60, "Bankura SMC, ref %d" % self.holds if desk else None)
        self._change(agent, (capacity, occupied, blocked + 1), "held")

    @rule(key=st.sampled_from(WARDS), arrived=st.booleans())
    def a_hold_ends(self, key, arrived):
        """Released (the one that expires first), or its patient arrived: the held
        bed becomes occupied."""
        agent = self._agent(key)
        if agent is None or not agent.holds:
            return
        self._back_up(agent)
        hold = min(agent.holds, key=lambda h: (agent.holds[h][1], h))
        beds, until, whom = agent.holds.pop(hold)
        capacity, occupied, blocked = agent.counts
        if arrived:                     # one held bed becomes occupied
            if beds > 1:
                agent.holds[hold] = (beds - 1, until, whom)
            self._change(agent, (capacity, occupied + 1, blocked - 1), "arrived")
        else:
            self._change(agent, (capacity, occupied, blocked - beds), "released")

    @rule(offset=st.sampled_from((-0.5, 0.5, 2.5)))
    def time_passes_to_a_check_falling_due(self, offset):
        """To just before or after the next moment a ward's last check passes
        check_within: where the board's caution must turn (issue 20)."""
        world = self.world
        moments = [a.checked + world.check_within for a in world.agents.values()
                   if a.new and a.checked is not None and a.check_known
                   and a.checked + world.check_within + offset > world.t]
        if moments:
            world.heartbeats_until(min(moments) + offset)
