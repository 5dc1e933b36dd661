"""A state node whose retained copies lag (a failover in the state cluster, an old
autosave restored) must not undo what the board was told since: an agent's will,
a ward's retirement (found by the world machine under ``make chaos``)."""

from tests.test_board_progress import AGENT, arrive, board, state, tile


def test_a_lagging_nodes_online_copy_does_not_undo_a_will():
    made = board()
    made.receive_status(AGENT, True, 0.5)
    for beat in range(1, 4):
        arrive(made, state(beat=beat), float(beat))     # live: progress, live 25 s
    assert tile(made, 4.0).live
    assert made.receive_status(AGENT, False, 5.0)          # its will fired: it is dead
    assert not tile(made, 5.0).live
    # the board's link moves to a node whose copies are older: "online", and a state
    # from before (beat 2): neither is news, and the ward stays not live
    made.set_connected(False, 6.0)
    made.set_connected(True, 7.0)
    made.receive_status(AGENT, True, 7.1, retained=True)
    arrive(made, state(beat=2), 7.2, retained=True)
    for now in (7.3, 10.0, 20.0, 27.9):                    # (its last progress: 28 s)
        assert not tile(made, now).live, now
    # the agent comes back: progress, and it is live again at once
    arrive(made, state(beat=4), 30.0)
    assert tile(made, 30.0).live
