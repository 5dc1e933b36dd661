"""The chain on a 3-node NATS cluster, proven by killing nodes.

Real ``bed-agent --simulate`` and ``bed-display`` processes whose
``broker.hosts`` list the three nodes in different orders, on a private
cluster (JetStream, ``stream_replicas: 3``) started on free loopback ports.
"""

import pytest

from bedboard.natscluster import PrivateNatsCluster

from .cluster_helpers import Agent, Board, Watcher, contiguous, retained_state, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path):
    with PrivateNatsCluster(workdir=str(tmp_path / "nats")) as started:
        yield started


@pytest.fixture
def parts():
    """Everything a test starts, stopped and killed at its end whatever happened."""
    started = []
    yield started
    for part in reversed(started):
        for end in ("stop", "kill", "close"):
            if hasattr(part, end):
                try:
                    getattr(part, end)()
                except Exception:  # noqa: BLE001 - a test's end must end everything
                    pass
                break


def test_a_state_published_through_one_node_is_on_a_board_connected_to_another(
        cluster, tmp_path, parts):
    agent = Agent(tmp_path, "a", cluster.hosts([0, 1, 2]))
    parts.append(agent.start())
    assert agent.press("taken").startswith("accepted taken")        # 9 vacant
    wait_until(lambda: retained_state(cluster.hosts([2])[0], "a").seq >= 1, 20,
               "the state on node 3")
    board = Board(tmp_path, cluster.hosts([2, 0, 1]), ["a"])
    parts.append(board.start())
    board.wait_live("a", 9)


def test_kill_the_agents_node_and_its_next_press_is_delivered_and_drawn(
        cluster, tmp_path, parts):
    watcher = Watcher(cluster.hosts([2])[0], ("crs/nrs/+/+/event",))
    parts.append(watcher)
    agent = Agent(tmp_path, "a", cluster.hosts([0, 1, 2]))
    parts.append(agent.start())
    board = Board(tmp_path, cluster.hosts([1, 2, 0]), ["a"])
    parts.append(board.start())
    for _ in range(3):
        assert agent.press("taken").startswith("accepted")
    board.wait_live("a", 7)
    cluster.kill(0)                                   # the agent's node
    assert agent.press("taken").startswith("accepted")
    board.wait_live("a", 6, timeout=40)
    assert agent.press("freed").startswith("accepted")
    board.wait_live("a", 7, timeout=20)
    assert agent.finish() == 0                        # everything delivered
    events = wait_until(lambda: (lambda e: e if e and e[-1].seq == 5 else None)(
        watcher.events("a")), 20, "every event on node 3")
    ok, seqs = contiguous(events)
    assert ok and seqs[0] == 1, seqs                  # none lost, none out of order
    assert "trying 127.0.0.1:%d next" % cluster.node(1).mqtt_port in agent.log()


def test_kill_the_boards_node_it_says_no_connection_then_shows_the_new_figures(
        cluster, tmp_path, parts):
    agent = Agent(tmp_path, "a", cluster.hosts([2, 0, 1]))
    parts.append(agent.start())
    board = Board(tmp_path, cluster.hosts([1, 0, 2]), ["a"])
    parts.append(board.start())
    assert agent.press("taken").startswith("accepted")
    board.wait_live("a", 9)
    cluster.kill(1)                                   # the board's node
    wait_until(lambda: any(not frame["connected"] for frame in board.frames()), 20,
               "the board to say it lost its broker")
    lost = next(f for f in board.frames() if not f["connected"])
    assert all(not tile["live"] for tile in lost["tiles"])
    back = wait_until(lambda: [f for f in board.frames()
                               if f["connected"] and f["t"] > lost["t"]], 30,
                      "the board to reconnect to another node")
    gap = back[0]["t"] - lost["t"]
    print("the board was without a broker for %.2f s" % gap)
    assert gap < 30
    assert agent.press("taken").startswith("accepted")
    board.wait_live("a", 8, timeout=20)


def test_restart_a_node_while_presses_go_on_and_every_node_ends_equal_to_the_ledgers(
        cluster, tmp_path, parts):
    agents = [Agent(tmp_path, "a", cluster.hosts([0, 1, 2])),
              Agent(tmp_path, "b", cluster.hosts([2, 1, 0]))]
    for agent in agents:
        parts.append(agent.start())
    for round_ in range(6):
        if round_ == 2:
            cluster.kill(2)
        if round_ == 4:
            cluster.restart(2)
        for agent in agents:
            assert agent.press("taken" if round_ % 3 else "freed").startswith(
                ("accepted", "refused"))
    for agent in agents:
        assert agent.finish() == 0
    for agent in agents:
        ledger = agent.ledger_state()
        for node in cluster.hosts():
            found = wait_until(lambda n=node, a=agent, s=ledger.seq: (
                lambda st: st if st.seq == s else None)(retained_state(n, a.ward)), 30,
                "node %s to hold %s's seq %d" % (node, agent.ward, ledger.seq))
            assert found.same_counts(ledger), (node, found, ledger)
