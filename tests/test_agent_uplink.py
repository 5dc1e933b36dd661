"""The uplink to the referral portal, against a small local HTTP server."""

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bedboard.mosquitto import free_port

from .agent_helpers import AGENT_ID, RunningAgent, wait_state, write_config


class Portal:
    """A referral portal on 127.0.0.1 that records each POST and answers as told.

    ``answers`` is a list of (status, headers) handed out one per request,
    then 200s; ``delay`` makes every answer slow.
    """

    def __init__(self, port=None):
        self.port = port or free_port()
        self.requests = []
        self.answers = []
        self.delay = 0.0
        self._lock = threading.Lock()
        self._server = None

    @property
    def url(self):
        return "http://127.0.0.1:%d/api/v1/ward-state" % self.port

    def start(self):
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with portal._lock:
                    status, headers = (portal.answers.pop(0) if portal.answers
                                       else (200, {}))
                    portal.requests.append((self.path, dict(self.headers),
                                            json.loads(body), status))
                time.sleep(portal.delay)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,),
                         daemon=True).start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def taken(self):
        """The seqs the portal answered 2xx, in order."""
        with self._lock:
            return [body["seq"] for _, _, body, status in self.requests
                    if 200 <= status < 300]

    def wait_taken(self, seq, timeout=10):
        deadline = time.monotonic() + timeout
        while seq not in self.taken():
            assert time.monotonic() < deadline, "portal has %r, not seq %d (%r)" % (
                self.taken(), seq, [r[3] for r in self.requests])
            time.sleep(0.02)
        return self.requests


@pytest.fixture
def portal():
    server = Portal()
    yield server
    server.stop()


def uplink_config(tmp_path, broker_port, portal, inputs=None, **keys):
    token = tmp_path / "uplink-token"
    token.write_text("portal-token-123\n")
    token.chmod(0o600)
    settings = {"url": portal.url, "token_file": str(token), "timeout": 1,
                "max_backoff": 0.2}
    settings.update(keys)
    lines = "".join("  %s: %s\n" % item for item in settings.items())
    return write_config(tmp_path, broker_port, capacity=40, occupied=10,
                        extra="uplink:\n" + lines, inputs=inputs)


def test_each_change_is_posted_with_its_key_and_token(tmp_path, mosquitto, portal):
    portal.start()
    with RunningAgent(uplink_config(tmp_path, mosquitto.port, portal)) as running:
        running.wait_ready()
        for kind in ("taken", "blocked", "freed"):
            running.press(kind)
        portal.wait_taken(3)
    path, headers, body, _ = portal.requests[0]
    assert path == "/api/v1/ward-state"
    assert headers["Authorization"] == "Bearer portal-token-123"
    assert headers["Idempotency-Key"] == "%s:1" % AGENT_ID
    assert headers["Content-Type"] == "application/json"
    assert {k: body[k] for k in ("hospital", "department", "ward", "capacity",
                                 "occupied", "blocked", "seq", "agent", "v")} == {
        "hospital": "nrs", "department": "medicine", "ward": "female-2",
        "capacity": 40, "occupied": 11, "blocked": 0, "seq": 1, "agent": AGENT_ID,
        "v": 1}
    assert [r[1]["Idempotency-Key"] for r in portal.requests] == [
        "%s:%d" % (AGENT_ID, seq) for seq in (1, 2, 3)]
    assert portal.taken() == [1, 2, 3]


def test_portal_down_for_a_while_then_back(tmp_path, mosquitto, portal, caplog):
    caplog.set_level(logging.WARNING)
    config = uplink_config(tmp_path, mosquitto.port, portal)
    with RunningAgent(config) as running:
        running.wait_ready()
        for kind in ("taken", "taken", "freed"):
            running.press(kind)                 # the portal is not even listening
        time.sleep(0.5)
        assert "portal http://127.0.0.1:%d/api/v1/ward-state unreachable" % portal.port \
            in caplog.text
        portal.answers = [(503, {}), (500, {}), (429, {"Retry-After": "0"}), (408, {})]
        portal.start()
        running.press("taken")
        portal.wait_taken(4)
        running.wait_delivered()
        # the portal has answered seq 4; the uplink thread drops it from its
        # queue just after — wait for that rather than race it
        deadline = time.monotonic() + 10
        while running.agent.ledger.uplink_count() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert running.agent.ledger.uplink_count() == 0
    taken = portal.taken()
    first_seen = sorted(set(taken), key=taken.index)
    assert first_seen == [1, 2, 3, 4]           # every change, once or more, in order
    statuses = [r[3] for r in portal.requests]
    assert statuses[:4] == [503, 500, 429, 408]
    assert [r[2]["seq"] for r in portal.requests[:5]] == [1, 1, 1, 1, 1]


def test_a_4xx_is_logged_and_skipped(tmp_path, mosquitto, portal, caplog):
    caplog.set_level(logging.ERROR)
    portal.answers = [(200, {}), (422, {})]
    portal.start()
    with RunningAgent(uplink_config(tmp_path, mosquitto.port, portal)) as running:
        running.wait_ready()
        for kind in ("taken", "taken", "taken"):
            running.press(kind)
        portal.wait_taken(3)
    assert [(r[2]["seq"], r[3]) for r in portal.requests] == [(1, 200), (2, 422),
                                                               (3, 200)]
    assert "portal refused seq 2 with 422" in caplog.text


def test_a_slow_portal_never_delays_presses_or_the_broker(tmp_path, mosquitto, probe,
                                                         portal):
    portal.delay = 0.5
    portal.start()
    with RunningAgent(uplink_config(tmp_path, mosquitto.port, portal,
                                    timeout=5)) as running:
        running.wait_ready()
        started = time.monotonic()
        for _ in range(5):
            running.press("taken")
        wait_state(probe, 5)
        assert time.monotonic() - started < 1.5     # five presses, not 5 × 0.5 s
        assert portal.taken() == [] or len(portal.taken()) < 5
        portal.wait_taken(5, timeout=15)


def test_what_the_portal_has_not_taken_waits_on_disk(tmp_path, mosquitto, portal):
    config = uplink_config(tmp_path, mosquitto.port, portal)
    with RunningAgent(config) as running:
        running.wait_ready()
        running.press("taken")
        running.press("freed")
        assert running.agent.ledger.uplink_count() == 2
    portal.start()
    with RunningAgent(config) as running:
        running.wait_ready()
        portal.wait_taken(2)
    assert portal.taken() == [1, 2]


class HeldSession:
    """A requests.Session stand-in whose POST waits until released."""

    def __init__(self):
        self.headers = {}
        self.posting = threading.Event()
        self.release = threading.Event()
        self.closed_while_posting = False
        self.closed = threading.Event()
        self._in_post = False

    def post(self, url, data=None, headers=None, timeout=None, allow_redirects=True):
        self._in_post = True
        self.posting.set()
        self.release.wait(5)
        self._in_post = False

        class Answer:
            status_code = 200
            reason = "OK"
            headers = {}

            def close(self):
                pass
        return Answer()

    def close(self):
        if self._in_post:
            self.closed_while_posting = True
        self.closed.set()


def test_stopping_never_closes_the_session_under_a_post(tmp_path):
    # Issue 12 #15: stop() closed the HTTP session after a bounded join even
    # when the thread was still inside a POST.
    from agent.config import UplinkSettings
    from agent.ledger import Ledger
    from agent import ward
    from agent.uplink import Uplink
    from datetime import datetime, timezone
    from bedboard.topics import WardKey

    at = datetime(2026, 11, 25, tzinfo=timezone.utc)
    ledger = Ledger.create(str(tmp_path), WardKey("nrs", "medicine", "female-2"),
                           AGENT_ID, ward.WardCounts(40, 10), 0, at, 40, "config",
                           uplink_body=lambda state: state.to_json())
    ledger.record(ward.press(ledger.counts, "taken"), AGENT_ID, at)
    session = HeldSession()
    uplink = Uplink(UplinkSettings("http://127.0.0.1:9/x", "t"), AGENT_ID, str(tmp_path),
                    session=session)
    uplink.start()
    try:
        assert session.posting.wait(5)
        uplink.stop(timeout=0.1)             # the POST is still under way
        assert not session.closed.is_set()
        session.release.set()
        assert session.closed.wait(5)        # closed by the thread, after the POST
        assert not session.closed_while_posting
        assert ledger.uplink_count() == 0
    finally:
        session.release.set()
        ledger.close()


def test_a_refused_token_keeps_every_change_and_says_so_once(tmp_path, mosquitto, portal,
                                                             caplog):
    # Issue 17, finding 7: a 401 or 403 was skipped like any 4xx, so a wrong
    # token dropped every change, one ERROR each.  It is the token that is
    # refused, not the change: keep it, retry, say it once an hour.
    caplog.set_level(logging.INFO, "agent.uplink")
    portal.answers = [(401, {}), (403, {}), (401, {}), (401, {}), (403, {})]
    portal.start()
    with RunningAgent(uplink_config(tmp_path, mosquitto.port, portal)) as running:
        running.wait_ready()
        for kind in ("taken", "taken"):
            running.press(kind)
        portal.wait_taken(2)
    assert [(r[2]["seq"], r[3]) for r in portal.requests] == [
        (1, 401), (1, 403), (1, 401), (1, 401), (1, 403), (1, 200), (2, 200)]
    said = [(r.levelname, r.getMessage()) for r in caplog.records
            if r.levelno >= logging.WARNING and r.name == "agent.uplink"]
    assert said == [
        ("ERROR", "portal %s refused this agent's token with 401 Unauthorized (seq 1): "
                  "every change is kept and retried, none reaches the portal until it "
                  "takes the token — check uplink.token_file (said again in an hour if it "
                  "lasts)" % portal.url),
        ("WARNING", "portal %s takes changes again (seq 1)" % portal.url)]


def test_the_portal_learns_of_held_beds_checks_and_expiries(tmp_path, mosquitto, portal):
    portal.start()
    path = uplink_config(tmp_path, mosquitto.port, portal, inputs=(
        "  - {name: held, kind: held, pin: 5}\n  - {name: checked, kind: checked, pin: 6}"))
    with RunningAgent(path, hold_minutes=0.03) as running:
        running.wait_ready()
        running.press("held")
        running.press("checked")
        portal.wait_taken(3)          # the hold expires by itself after 1.8 s
    bodies = {body["seq"]: body for _, _, body, _ in portal.requests}
    assert (bodies[1]["held"], bodies[1]["blocked"], bodies[1]["holds"][0]["beds"]) == (
        1, 1, 1)
    assert "checked" in bodies[2] and bodies[2]["held"] == 1
    assert (bodies[3]["held"], bodies[3]["blocked"], bodies[3].get("holds")) == (0, 0, None)
