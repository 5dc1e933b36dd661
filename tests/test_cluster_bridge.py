"""A hospital's Mosquitto bridged into the NATS state cluster, proven by faults.

The bridge is the text ``bedboard broker-config --bridge-to`` writes
(:func:`ops.bridge_conf.bridge_text`), listing every cluster node.  A real
agent counts a ward on the hospital broker; a real board watches it on the
cluster.  The cluster node the bridge uses is killed, then the hospital
broker is restarted; afterwards the events on both sides are compared: none
lost on the cluster, duplicates allowed (same seq).
"""


import pytest

from bedboard.mosquitto import PrivateBroker
from bedboard.natscluster import PrivateNatsCluster
from ops.bridge_conf import bridge_text

from .cluster_helpers import Agent, Board, Watcher, contiguous, wait_until

pytestmark = pytest.mark.slow


def test_a_bridged_ward_reaches_the_cluster_through_node_loss_and_a_broker_restart(tmp_path):
    parts = []
    cluster = PrivateNatsCluster(workdir=str(tmp_path / "nats")).start()
    try:
        nodes = [tuple((h.split(":")[0], int(h.split(":")[1]))) for h in cluster.hosts()]
        bridge = bridge_text("nrs", nodes).splitlines()
        hospital = PrivateBroker(workdir=str(tmp_path / "hospital"), persistence=True,
                                 extra_config=[line for line in bridge
                                               if line and not line.startswith("#")])
        hospital.start()
        parts.append(hospital)
        local = "%s:%d" % (hospital.host, hospital.port)
        on_cluster = Watcher(cluster.hosts([2])[0], ("crs/nrs/+/+/event",))
        parts.append(on_cluster)
        at_hospital = Watcher(local, ("crs/nrs/+/+/event",))
        parts.append(at_hospital)
        agent = Agent(tmp_path, "a", [local])
        parts.append(agent.start())
        board = Board(tmp_path, cluster.hosts([1, 2, 0]), ["a"])
        parts.append(board.start())

        assert agent.press("taken").startswith("accepted")
        board.wait_live("a", 9)                        # the hospital's ward, on the cluster

        cluster.kill(0)                                # the node the bridge was using
        for _ in range(3):
            assert agent.press("taken").startswith("accepted")
        board.wait_live("a", 6, timeout=60)

        hospital.stop()                                # a restart of the hospital broker
        hospital.start()
        for _ in range(2):
            assert agent.press("freed").startswith("accepted")
        board.wait_live("a", 8, timeout=60)
        assert agent.finish() == 0
        last = agent.ledger_state().seq

        cluster_events = wait_until(lambda: (lambda e: e if e and max(
            x.seq for x in e) >= last else None)(on_cluster.events("a")), 60,
            "every event on the cluster")
        ok, seqs = contiguous(cluster_events)
        assert ok and seqs[0] == 1 and max(seqs) == last, seqs
        hospital_seqs = {event.seq for event in at_hospital.events("a")}
        assert hospital_seqs <= set(seqs)              # nothing on one side only
        with open(hospital.log_path, encoding="utf-8") as handle:
            log = handle.read()
        # it moved to another node when its own was killed
        assert "Connecting bridge (step 1) crs-state-nrs (%s:%d)" % nodes[1] in log
        duplicates = len(seqs) - len(set(seqs))
        print("events on the cluster: %d for %d changes (%d duplicates); at the hospital "
              "watcher: %d" % (len(seqs), last, duplicates, len(hospital_seqs)))
    finally:
        for part in reversed(parts):
            for end in ("stop", "kill", "close"):
                if hasattr(part, end):
                    try:
                        getattr(part, end)()
                    except Exception:  # noqa: BLE001 - end everything
                        pass
                    break
        cluster.close()
