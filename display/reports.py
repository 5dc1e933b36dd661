"""What the board keeps of a ward: each agent's last report on it."""

MAX_BOOTS = 8       # boots remembered per report: a copy of any of them proves nothing


class Report:
    """What one agent said of one ward."""

    __slots__ = ("agent", "state", "first", "heard", "expires", "applied", "changed",
                 "reset", "reused", "live_link", "doubt", "boots", "proven", "restart",
                 "received", "copy")

    def __init__(self, agent, state, now):
        self.agent = agent
        self.state = state
        self.first = now          # when its wait for its agent's status began: its first
        #                           receipt, or the board's last reconnect
        self.heard = now          # last live receipt (the first receipt, if none was live);
        #                           for an agent that sends progress, its last progress
        self.expires = now        # live until then
        self.applied = now        # last receipt that applied a state
        self.changed = None       # monotonic time its figures last changed; None: unknown
        self.reset = False        # a lower seq came live: the panel restarted from an old copy
        self.reused = False       # an equal seq came with other counts
        self.live_link = None     # the board's connection on which it last spoke live
        self.doubt = False        # a retained copy disagreed with what was applied
        self.boots = {}           # boot -> highest beat seen (insertion order: oldest first)
        self.proven = False       # progress ever seen from it (an agent that sends progress)
        self.restart = None       # (boot, seq) of a restart to a lower seq, while reset
        self.received = now       # when ``state`` itself was received (its checked_age's
        #                           moment, display/checks.py)
        self.copy = False         # ``state`` came as a retained copy (its checked_age a
        #                           lower bound only)

    def seen(self, boot, beat):
        """Remember ``boot``'s ``beat``; return the highest beat seen of it before (or None)."""
        before = self.boots.get(boot)
        if before is None:
            if len(self.boots) >= MAX_BOOTS:
                del self.boots[next(iter(self.boots))]
            self.boots[boot] = beat
        elif beat > before:
            self.boots[boot] = beat
        return before


class Ward:
    """What the board knows of one ward: each agent's report."""

    __slots__ = ("key", "reports", "covering")

    def __init__(self, key, covering=()):
        self.key = key
        self.reports = {}         # agent -> Report
        self.covering = covering  # the tiles that count it (TileSpecs)


def describe(state):
    return "%d/%d occupied, %d blocked" % (state.occupied, state.capacity, state.blocked)
