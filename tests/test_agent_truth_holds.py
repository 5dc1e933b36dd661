"""Holds and checks in the agent's state machine (tests/test_agent_truth.py), as plain programs.

A hold expires once — across a SIGKILL, a lost ledger (freed once from the
broker's copy) and an old copy of the ledger restored — and the check is
asked for exactly when it is past ``check_within``.
"""

from .test_agent_truth import CHECK_WITHIN, HEARTBEAT, finish, play


def expiries(machine):
    """``{hold id: seqs of its expired events}`` the broker took."""
    found = {}
    for event in machine.network.events:
        if event.kind == "expired":
            found.setdefault(event.hold, set()).add(event.seq)
    return found


def test_a_hold_expires_once_across_a_sigkill():
    machine = play(3, 0, "network_settles", ("press", {"kind": "held"}), "network_settles",
                   ("time_passes", {"seconds": 30.0}), "sigkill",
                   ("time_passes", {"seconds": 31.0}), "network_settles")
    assert machine.agent.ledger.holds != {}       # 30 s kept, 31 s more: not yet 60
    machine.time_passes(seconds=HEARTBEAT + 1)
    machine.network_settles()
    assert machine.agent.ledger.holds == {} and machine.agent.ledger.counts.held == 0
    (seqs,) = expiries(machine).values()
    assert len(seqs) == 1
    machine.sigkill()
    machine.time_passes(seconds=HEARTBEAT + 1)
    finish(machine)
    assert [len(s) for s in expiries(machine).values()] == [1]


def test_a_hold_expired_in_a_lost_ledger_is_freed_once_from_the_brokers_copy():
    machine = play(3, 0, "network_settles", ("press", {"kind": "held"}), "network_settles",
                   ("time_passes", {"seconds": HEARTBEAT + 1}),   # expired, not yet sent
                   "ledger_lost", "network_settles")
    assert machine.agent.ledger.counts.held == 1                 # the broker's copy
    machine.time_passes(seconds=HEARTBEAT + 1)
    machine.network_settles()
    assert machine.agent.ledger.counts.held == 0
    assert [len(s) for s in expiries(machine).values()] == [1]
    finish(machine)


def test_an_old_copy_does_not_free_a_hold_the_broker_saw_freed():
    machine = play(3, 0, "network_settles", ("press", {"kind": "held"}), "network_settles",
                   "copy_of_the_ledger_taken", ("time_passes", {"seconds": HEARTBEAT + 1}),
                   "network_settles",                            # the broker: expired
                   "old_copy_restored", ("time_passes", {"seconds": HEARTBEAT + 1}),
                   "network_settles")
    ledger = machine.agent.ledger
    assert (ledger.counts.held, ledger.holds) == (0, {})
    assert [len(s) for s in expiries(machine).values()] == [1]
    finish(machine)


def test_the_check_is_due_exactly_past_the_bound():
    machine = play(3, 0, "network_settles", ("press", {"kind": "checked"}))
    assert not machine.agent.check_due
    machine.time_passes(seconds=HEARTBEAT + 1)
    machine.time_passes(seconds=HEARTBEAT - 1)                   # 120 s: not past it
    assert machine.agent.ledger.check_age() == CHECK_WITHIN and not machine.agent.check_due
    machine.time_passes(seconds=0.5)
    assert machine.agent.check_due
    machine.sigkill()                     # the age dies with the process's clock
    assert machine.agent.ledger.check_age() is None and machine.agent.check_due
    finish(machine)


def test_an_old_copys_hold_that_the_broker_already_counts_is_not_placed_twice():
    # Found by the machine (600 programs of 100 steps): a copy taken while a
    # hold was waiting for the broker's check met the broker's newer count,
    # which listed that very hold; deciding the copy's changes again placed it
    # a second time (UNIQUE constraint failed: holds.id), the ledger could not
    # be moved past the broker, and seq 4 went to two different states.
    machine = play(6, 0, "network_settles", "sigkill",         # the audit waits
                   ("press", {"kind": "held"}),                 # kept for the check
                   "copy_of_the_ledger_taken", "network_settles",
                   ("press", {"kind": "taken"}), "network_settles",
                   "old_copy_restored", "network_settles")
    ledger = machine.agent.ledger
    assert (ledger.counts.occupied, ledger.counts.held, len(ledger.holds)) == (1, 1, 1)
    assert ledger.seq > 2 and ledger.unconfirmed
    finish(machine)


def test_a_check_made_on_an_old_copy_does_not_confirm_the_brokers_newer_count():
    # The copy's check confirmed counts the broker's newer count replaces:
    # once moved onto the broker's count, the check is due again (its age
    # unknown), never restamped as made when the copy was moved.
    machine = play(6, 0, "network_settles", "copy_of_the_ledger_taken",
                   ("press", {"kind": "taken"}), "network_settles",     # broker: seq 1
                   "old_copy_restored", ("press", {"kind": "checked"}),  # kept for the check
                   ("time_passes", {"seconds": 5.0}), "network_settles")
    ledger = machine.agent.ledger
    assert ledger.counts.occupied == 1 and ledger.unconfirmed
    assert ledger.check_age() is None and machine.agent.check_due
    finish(machine)
