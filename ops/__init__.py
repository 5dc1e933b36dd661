"""``bedboard``: the tool of the people who run the system.

Its subcommands provision the hospital's broker from the device configs
(``broker-config``), install a Pi (``install``), correct a ward's count
(``set``), show the fleet at a glance (``status``) and check configs
(``check``).  The wire contract they follow is ``docs/contract.md``.
"""

from bedboard.errors import BedboardError


class OpsError(BedboardError, RuntimeError):
    """An operator's command could not do what it was asked; the message says why."""
