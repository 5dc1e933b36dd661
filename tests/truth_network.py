"""The agent state machine's stand-ins: paho's session, the broker link and the broker.

:class:`Network` and :class:`FakeLink` keep the promises of
:class:`bedboard.link.BrokerLink` (bedboard/link.py, bedboard/handshake.py)
so that tests/test_agent_truth.py can drive the real agent one step at a
time; :class:`Handing` stands in for the link when the publisher is tested
alone.  Their docstrings, and test_agent_truth's, say what they model.
"""

import json
from dataclasses import dataclass

from bedboard.link import OFFLINE, ONLINE, Received
from bedboard.payloads import SetReply, WardEvent, WardState

from .agent_helpers import EVENT, REPLY, SET, STATE


@dataclass
class Info:
    """What paho's publish() returns, as far as the agent looks."""

    mid: int
    rc: int = 0


class Network:
    """paho's session, the link's hand-over and the broker (test_agent_truth's docstring)."""

    def __init__(self):
        self.retained = {}
        self.states = []          # every state the broker took, in order
        self.events = []          # every event the broker took, in order
        self.replies = []
        self.sets_delivered = []  # ids of the set commands the client read
        self.replies_sent = []    # ids of the replies the client handed over
        self.acked = set()        # (seq, counts) of the events whose PUBACK a client read
        self.up = False
        self.subscribed = set()
        self.wire = []            # client → broker: ("pub", mid) / ("sub" | "unsub", filters)
        self.downlink = []        # broker → client: ("ack", mid) / ("msg", topic, payload, retain)
        self.session = {}         # mid → True: paho's unacknowledged QoS 1, in order
        self.owned = set()        # mids published for one connection only
        self.kept = []            # what the link kept while not connected
        self.content = {}         # mid → (topic, payload, retain), for ever
        self._mid = 0
        self.link = None

    def new_mid(self):
        self._mid += 1
        return self._mid

    # -- the connection --------------------------------------------------------
    def connect(self):
        """The link connects (its CONNACK, on the network thread): the hand-over."""
        link = self.link
        self.up, self.subscribed = True, set()
        again = [mid for mid in self.session if mid not in self.owned]
        self.session, self.owned = {}, set()
        kept, self.kept = self.kept, []
        link.connected = True
        for mid in again:
            link.send(*self.content[mid])
        for message in kept:
            link.send(*message)
        link.send(link.status_topic, ONLINE, True)
        if link.subscriptions:
            self.wire.append(("sub", list(link.subscriptions)))
        link.connection += 1
        link.on_connection(True)

    def drop(self):
        """The connection is lost: what is in flight either way is gone; the will fires."""
        self.up = False
        self.wire, self.downlink, self.subscribed = [], [], set()
        if self.link is not None:
            self.retained[self.link.status_topic] = OFFLINE
            if self.link.connected:
                self.link.connected = False
                self.link.on_connection(False)

    # -- the broker --------------------------------------------------------------
    def broker_step(self, order):
        """The broker handles the next packet; ``order`` permutes one SUBSCRIBE's retained."""
        kind, what = self.wire.pop(0)
        if kind == "pub":
            topic, payload, retain = self.content[what]
            self._take(topic, payload, retain)
            self.downlink.append(("ack", what))
        elif kind == "sub":
            self.subscribed.update(what)
            found = [(t, self.retained[t]) for t in what if t in self.retained]
            found = [found[i] for i in order(len(found))]
            self.downlink += [("msg", t, p, True) for t, p in found]
        else:
            self.subscribed.difference_update(what)

    def _take(self, topic, payload, retain):
        if topic == STATE:
            self.states.append(WardState.parse(payload))
        elif topic == EVENT:
            self.events.append(WardEvent.parse(payload))
        elif topic == REPLY:
            self.replies.append(SetReply.parse(payload))
        if retain:
            if payload:
                self.retained[topic] = payload
            else:
                self.retained.pop(topic, None)
        if topic in self.subscribed:
            self.downlink.append(("msg", topic, payload, False))

    def operator_publishes(self, topic, payload):
        """Another client's message (a bed manager's set), taken at once."""
        self._take(topic, payload, False)

    def deliver(self):
        """The client reads the next answer from the broker."""
        item = self.downlink.pop(0)
        if item[0] == "ack":
            self.session.pop(item[1], None)
            self.owned.discard(item[1])
            topic, payload, _ = self.content[item[1]]
            if topic == EVENT:
                event = WardEvent.parse(payload)
                self.acked.add((event.seq, event.capacity, event.occupied, event.blocked))
            self.link.on_published(item[1])
        else:
            _, topic, payload, retain = item
            if topic == SET:
                self.sets_delivered.append(json.loads(payload).get("id"))
            self.link.on_message(Received(topic, payload, retain))


class FakeLink:
    """Stands in for BrokerLink (the same promises: see bedboard/link.py)."""

    def __init__(self, network, broker, device_id, subscriptions=(), on_message=None,
                 on_connection=None, on_published=None, **_):
        from bedboard.topics import status_topic
        self.network = network
        self.status_topic = status_topic(broker.prefix, device_id)
        self.subscriptions = list(subscriptions)
        self.on_message, self.on_connection = on_message, on_connection
        self.on_published = on_published
        self.connected = False
        self.connection = 0
        network.link = self

    def start(self):
        pass

    def stop(self, timeout=2.0):
        pass

    def send(self, topic, payload, retain):
        network = self.network
        mid = network.new_mid()
        network.content[mid] = (topic, bytes(payload), retain)
        network.session[mid] = True
        network.wire.append(("pub", mid))
        return mid

    def publish(self, topic, payload, retain=False, qos=1, connection=None):
        if topic == REPLY:
            self.network.replies_sent.append(SetReply.parse(payload).id)
        if not self.connected or connection not in (None, self.connection):
            if connection is None:
                self.network.kept.append((topic, bytes(payload), retain))
            return None
        mid = self.send(topic, payload, retain)
        if connection is not None:
            self.network.owned.add(mid)
        return Info(mid)

    def refresh_status(self):
        if not self.connected:
            return None
        return self.publish(self.status_topic, ONLINE, retain=True)

    def subscribe(self, topic_filter):
        if topic_filter in self.subscriptions:
            return
        self.subscriptions.append(topic_filter)
        if self.connected:
            self.network.wire.append(("sub", [topic_filter]))

    def renew(self, topic_filter):
        if topic_filter not in self.subscriptions or not self.connected:
            return False
        self.network.wire.append(("sub", [topic_filter]))
        return True

    def unsubscribe(self, topic_filter):
        if topic_filter not in self.subscriptions:
            return
        self.subscriptions.remove(topic_filter)
        if self.connected:
            self.network.wire.append(("unsub", [topic_filter]))


class Handing:
    """A stand-in link for the publisher alone: every connection up, each message a mid."""

    def __init__(self):
        self.sent = []               # (mid, topic, payload), in order

    def publish(self, topic, payload, retain=False, qos=1, connection=None):
        self.sent.append((len(self.sent) + 1, topic, payload))
        return Info(len(self.sent))

    def mids_of_event(self, seq):
        return [mid for mid, topic, payload in self.sent
                if topic == EVENT and WardEvent.parse(payload).seq == seq]
