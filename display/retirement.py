"""Retired wards (a mixin of Board): forgotten, and kept retired.

An empty retained state retires a ward (``bedboard retire``): the board forgets
it.  And it remembers that it did — bounded, and across its restarts with its
memory of the wards it has seen (display/memory.py) — because a copy of the
ward's old state can come again after the retirement: from a state node whose
retained copies lag (a failover in the state cluster) or an old autosave the
broker restored.  Such a copy does not bring the ward back; its panel speaking
(a live state) does (docs/contract.md, rule 3).
"""

import bisect
import logging

_LOG = logging.getLogger("display.board")

MAX_RETIRED = 5000          # as display.board.MAX_WARDS


class Retirement:
    """The part of Board that retires wards and keeps them retired."""

    def receive_retired(self, key, now):
        """An empty retained state: the ward was retired; forget it."""
        if self.wants(key):
            self._retire(key)
        ward = self._wards.pop(key, None)
        if ward is None:
            return False
        _LOG.info("ward %s was retired (an empty retained state)", key)
        for agent in ward.reports:
            self._forget_agent_ward(agent, key)
        department = (key.hospital, key.department)
        keys = self._by_department.get(department, [])
        at = bisect.bisect_left(keys, key)
        if at < len(keys) and keys[at] == key:
            del keys[at]
        if not self._fixed and not keys:
            self._by_department.pop(department, None)
            self._departments.discard(department)
            self._department_specs.pop(department, None)
            self._specs = [s for s in self._specs
                           if (s.hospital, s.department) != department]
        self._touch_ward(ward)
        self._epoch += 1
        return True

    def _retire(self, key):
        """Remember that ward ``key`` was retired (bounded; kept across restarts with
        the board's memory): a copy of its state does not bring it back, a panel
        speaking does."""
        self._retired.pop(key, None)
        self._retired[key] = True
        while len(self._retired) > MAX_RETIRED:
            del self._retired[next(iter(self._retired))]
        if self._memory is not None:
            self._memory.retire(key)

    def _unretire(self, key):
        del self._retired[key]
        if self._memory is not None:
            self._memory.unretire(key)

    def _back_from_retirement(self, key, retained):
        """Whether a state of retired ward ``key`` brings it back: a panel speaking
        does, a copy (``retained``) does not — it may be from before."""
        if retained:
            return False
        self._unretire(key)
        return True
