"""What the board keeps of a ward: each agent's last report on it."""


class Report:
    """What one agent said of one ward."""

    __slots__ = ("agent", "state", "first", "heard", "expires", "applied", "changed",
                 "reset", "reused", "live_link")

    def __init__(self, agent, state, now):
        self.agent = agent
        self.state = state
        self.first = now          # first receipt
        self.heard = now          # last live receipt (the first receipt, if none was live)
        self.expires = now        # live until then
        self.applied = now        # last receipt that applied a state
        self.changed = None       # monotonic time its figures last changed; None: unknown
        self.reset = False        # a lower seq came live: the panel restarted from an old copy
        self.reused = False       # an equal seq came with other counts
        self.live_link = None     # the board's connection on which it last spoke live


class Ward:
    """What the board knows of one ward: each agent's report."""

    __slots__ = ("key", "reports")

    def __init__(self, key):
        self.key = key
        self.reports = {}         # agent -> Report


def describe(state):
    return "%d/%d occupied, %d blocked" % (state.occupied, state.capacity, state.blocked)
