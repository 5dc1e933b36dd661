"""bed-agent: one ward's agent — buttons and bed contacts in, a durable, published count out.

The parts, each in its own module: the pure counting rules (:mod:`agent.ward`),
the config (:mod:`agent.config`), the panel's gpiozero devices
(:mod:`agent.panel`, with our own debounce in :mod:`agent.debounce`), the
ledger on disk (:mod:`agent.ledger`), the broker side
(:mod:`agent.publisher`, :mod:`agent.recovery`), the portal
(:mod:`agent.uplink`), the loop that joins them (:mod:`agent.app`, with its
start-up checks in :mod:`agent.startup` and a bed manager's corrections in
:mod:`agent.corrections`) and the
command line (:mod:`agent.__main__`, :mod:`agent.simulate`).
"""
