"""The uplink: every change POSTed to the referral portal, in seq order, from its own thread.

SPEC.md, "Optional, on the agent": each change is POSTed as JSON — the
WardState plus ``hospital``, ``department`` and ``ward`` — with
``Authorization: Bearer {token}`` and ``Idempotency-Key: {agent}:{seq}``.
Delivery is at-least-once and in ``seq`` order: the body waits in the
ledger's ``uplink`` table (written in the same transaction as the change)
until the portal answers 2xx.  Failures — no connection, a timeout, 5xx,
408, 429, a redirect — are retried with backoff (doubling, with jitter, up
to ``max_backoff``; a ``Retry-After`` is honoured within that ceiling).  A
401 or 403 is the agent's token refused, not the change: the change is
kept and retried the same way, and the refusal said at ERROR — once an
hour while it lasts, and once more when the portal takes a change again.
Any other 4xx is logged and skipped: that change would never be accepted.

All of it runs on the uplink's own thread with its own ledger connection,
so a slow or dead portal never delays GPIO handling or MQTT publishing.
"""

import json
import logging
import random
import threading
import time

import requests

import bedboard

from .ledger import UplinkQueue

_LOG = logging.getLogger(__name__)

FIRST_BACKOFF = 1.0
IDLE_WAIT = 30.0
REFUSED_TOKEN = (401, 403)
SAY_REFUSED_EVERY = 3600.0   # seconds between the ERRORs of a token still refused


def portal_body(ward, state):
    """The JSON the portal gets for one change: the WardState plus the ward's ids."""
    body = state.to_dict()
    body.update(hospital=ward.hospital, department=ward.department, ward=ward.ward)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _retry_after(response):
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class Uplink:
    """The thread that empties the ledger's uplink queue into the portal."""

    def __init__(self, settings, agent_id, state_dir, session=None):
        self.settings = settings
        self.agent_id = agent_id
        self._state_dir = state_dir
        self._session = session or requests.Session()
        self._session.headers.update({
            "Authorization": "Bearer %s" % settings.token,
            "Content-Type": "application/json",
            "User-Agent": "bed-agent/%s" % bedboard.__version__})
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = None
        self._queue = None
        self.posted = 0
        self.skipped = 0
        self._refused_said = None   # time.monotonic() of the last "token refused" ERROR

    def start(self):
        """Open the queue and start the thread."""
        self._queue = UplinkQueue(self._state_dir)
        self._thread = threading.Thread(target=self._run, name="bed-agent-uplink",
                                        daemon=True)
        self._thread.start()

    def wake(self):
        """A change was recorded: look at the queue now."""
        self._wake.set()

    def stop(self, timeout=2.0):
        """Stop the thread; what is not posted yet stays queued for next time.

        The HTTP session belongs to the thread while it runs: a POST still
        under way when ``timeout`` passes is left to finish (or time out) on
        its own, and the thread closes the session after it — never under it.
        """
        self._stopping.set()
        self._wake.set()
        if self._thread is None:
            self._session.close()
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            _LOG.warning("uplink still busy with the portal at %s; leaving it to "
                         "finish on its own", self.settings.url)

    # -- the thread --------------------------------------------------------
    def _run(self):
        backoff = min(FIRST_BACKOFF, self.settings.max_backoff)
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                row = self._queue.first()
                if row is None:
                    self._wake.wait(IDLE_WAIT)
                    continue
                seq, body = row
                wait = self._post(seq, bytes(body))
                if wait is None:
                    self._queue.done(seq)
                    backoff = min(FIRST_BACKOFF, self.settings.max_backoff)
                    continue
                delay = min(max(wait, backoff) if wait else backoff,
                            self.settings.max_backoff)
                delay *= random.uniform(0.8, 1.0)
                backoff = min(backoff * 2, self.settings.max_backoff)
                self._stopping.wait(delay)
        except Exception as exc:  # noqa: BLE001 - the portal must never take the agent down
            _LOG.error("the uplink stopped: %s: %s; changes stay queued for the next "
                       "start", type(exc).__name__, exc)
            _LOG.debug("the uplink's failure", exc_info=True)
        finally:
            self._queue.close()
            self._session.close()

    def _post(self, seq, body):
        """POST one change; None when it is done with, else seconds to wait (0: backoff)."""
        key = "%s:%d" % (self.agent_id, seq)
        try:
            response = self._session.post(self.settings.url, data=body,
                                          headers={"Idempotency-Key": key},
                                          timeout=self.settings.timeout,
                                          allow_redirects=False)
        except requests.RequestException as exc:
            _LOG.warning("portal %s unreachable for seq %d: %s", self.settings.url,
                         seq, exc)
            return 0
        status = response.status_code
        response.close()
        if 200 <= status < 300:
            self.posted += 1
            _LOG.debug("portal took seq %d (%d)", seq, status)
            if self._refused_said is not None:
                self._refused_said = None
                _LOG.warning("portal %s takes changes again (seq %d)", self.settings.url,
                             seq)
            return None
        if status in REFUSED_TOKEN:
            self._say_refused(seq, status, response.reason)
            return 0
        if 400 <= status < 500 and status not in (408, 429):
            self.skipped += 1
            _LOG.error("portal refused seq %d with %d %s: skipped (it would never "
                       "be accepted)", seq, status, response.reason)
            return None
        _LOG.warning("portal answered %d %s for seq %d: will retry", status,
                     response.reason, seq)
        return _retry_after(response) or 0

    def _say_refused(self, seq, status, reason):
        now = time.monotonic()
        if self._refused_said is not None and now - self._refused_said < SAY_REFUSED_EVERY:
            _LOG.debug("portal refused the token again (%d, seq %d)", status, seq)
            return
        self._refused_said = now
        _LOG.error("portal %s refused this agent's token with %d %s (seq %d): every "
                   "change is kept and retried, none reaches the portal until it "
                   "takes the token — check uplink.token_file (said again in an hour "
                   "if it lasts)", self.settings.url, status, reason, seq)
