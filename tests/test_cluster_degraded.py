"""Every program gets through a bad node of the 3-node NATS cluster (issue 17).

A node that is down refuses connections; a node that hangs (SIGSTOP) — or
one cut off by a partition — accepts TCP and never answers.  Each program
lists that node first in ``broker.hosts`` and must get through to another:
the agent (its presses published), the board (drawn live), the operators'
tool (``bedboard set`` and ``bedboard status`` succeed).
"""

import pytest

from bedboard.natscluster import PrivateNatsCluster

from .cluster_helpers import (Agent, Board, bedboard, paused_node, wait_until,
                              write_operator)

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path):
    with PrivateNatsCluster(workdir=str(tmp_path / "nats")) as started:
        yield started


@pytest.fixture
def parts():
    started = []
    yield started
    for part in reversed(started):
        for end in ("stop", "kill"):
            if hasattr(part, end):
                try:
                    getattr(part, end)()
                except Exception:  # noqa: BLE001 - a test's end must end everything
                    pass
                break


def accepted(agent):
    """Press "taken" once the agent accepts presses (it first reads the cluster)."""
    wait_until(lambda: agent.press("taken").startswith("accepted taken"), 60,
               "the agent to accept a press (log: %s)" % agent.log()[-600:])


def set_and_status(tmp_path, cluster):
    """``bedboard set`` and ``bedboard status`` with node 1 listed first; both must succeed."""
    operator = write_operator(tmp_path, cluster.hosts([0, 1, 2]))
    corrected = bedboard("set", "--config", operator, "nrs/medicine/a", "--occupied", "4",
                         "--by", "Sister Das")
    assert corrected.returncode == 0, corrected.stderr
    assert corrected.stdout.startswith("applied: nrs/medicine/a now has 4 occupied")
    status = bedboard("status", "--config", operator, "--listen", "1")
    assert status.returncode == 0, status.stderr
    assert [line.split()[0] for line in status.stdout.splitlines()[2:3]] == [
        "nrs/medicine/a"]
    return corrected, status


def test_with_the_first_node_hung_every_program_gets_through(cluster, tmp_path, parts):
    # Found: the agent retried the hung node for ever — it logged nothing,
    # kept every press and published none; set and status moved on only
    # when the TCP connect failed: exit 1 after 11 s, a live agent elsewhere.
    with paused_node(cluster, 0):
        agent = Agent(tmp_path, "a", cluster.hosts([0, 1, 2]))
        parts.append(agent.start())
        board = Board(tmp_path, cluster.hosts([0, 2, 1]), ["a"])
        parts.append(board.start())
        accepted(agent)                                             # 9 vacant
        board.wait_live("a", 9, timeout=60)
        hung = cluster.node(0).mqtt_port
        said = ("broker 127.0.0.1:%d did not answer the MQTT handshake within 5.0 s; "
                "trying 127.0.0.1:" % hung)
        assert said in agent.log() and said in board.log()
        corrected, status = set_and_status(tmp_path, cluster)
        board.wait_live("a", 16, timeout=30)                        # the correction
    told = "the broker at 127.0.0.1:%d did not answer the MQTT handshake within 5 s" % hung
    assert told in corrected.stderr and told in status.stderr


def test_set_and_status_with_the_first_node_killed(cluster, tmp_path, parts):
    # Found: set subscribed at QoS 1 — a replicated JetStream consumer whose
    # creation fails while a node is down — and said "refused the
    # subscription … not allowed for None?".
    cluster.kill(0)
    agent = Agent(tmp_path, "a", cluster.hosts([1, 2, 0]))
    parts.append(agent.start())
    accepted(agent)
    corrected, status = set_and_status(tmp_path, cluster)
    assert "refused the subscription" not in corrected.stderr + status.stderr
