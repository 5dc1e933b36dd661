"""bedboard's one exception tree.

Every error bedboard raises on purpose derives from :class:`BedboardError`;
each leaf also inherits the built-in it resembles, so callers that only know
Python's own exceptions still catch it, and its message names the culprit.
"""


class BedboardError(Exception):
    """Base of every error bedboard raises on purpose."""


class ContractError(BedboardError, ValueError):
    """A topic or payload breaks the wire contract (docs/contract.md)."""


class ConfigError(BedboardError, ValueError):
    """A config file cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class LinkError(BedboardError, ConnectionError):
    """The broker link could not be set up or used."""


class AgentError(BedboardError, RuntimeError):
    """The ward agent cannot start or go on; the message says why."""


class PressRefused(BedboardError, ValueError):
    """A press, sensor change or correction that would break the ward's bounds."""


class LedgerError(BedboardError, OSError):
    """The ward ledger in ``state_dir`` cannot be opened, created or written."""


class DisplayError(BedboardError, RuntimeError):
    """The board cannot show itself: no usable screen, font or output file."""
