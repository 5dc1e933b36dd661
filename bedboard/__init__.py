"""bedboard: what the lobby board and the ward agents share.

The wire contract (:mod:`bedboard.topics`, :mod:`bedboard.payloads`), config
loading (:mod:`bedboard.settings`), the broker link (:mod:`bedboard.link`)
and the systemd notify protocol (:mod:`bedboard.sdnotify`).  The contract
itself is docs/contract.md, in this repository.
"""

__version__ = "0.1.0"
