"""The soak: a compressed day of a hospital's churn through a running board.

A real ``bed-display`` (dummy driver, 40 tiles, one ward each) on a private
Mosquitto is fed a day of ward traffic replayed fast: every ward's agent
republishing its state each "minute" (its heartbeat), about 40 changes per
ward over the day (admissions, discharges, beds blocked and released), now
and then a panel going offline and coming back — and the broker killed and
restarted a few times, after which every ward republishes, as agents do on
reconnect.  The board's RSS and open file descriptors are read after its
first full frame and again at the end of the day (after the last frame):
both must stay flat, within ±5 %.
"""

import logging
import os
import random
import time

from bedboard.mosquitto import PrivateBroker
from bedboard.payloads import WardState
from bedboard.topics import status_topic, ward_topic

from .common import (FrameFollower, agent_id, open_fds, rss_mib, start_display, stop,
                     temporary_folder, ward_key, ward_state, write_board)
from .paint import _FastPublisher, _shows, _tile_sums

_LOG = logging.getLogger(__name__)

WARDS = 40
MINUTES = 1440               # a day
CHANGES_PER_WARD = 40
BROKER_RESTARTS = 4
WARM_UP_MINUTES = 360        # the first six hours fill the board's text and font caches


def soak(seconds=120.0, wards=WARDS, minutes=MINUTES, restarts=BROKER_RESTARTS, seed=1):
    """``{rss: (first frame, 06:00, end), fds: (same), messages, restarts, seconds}``."""
    rng = random.Random(seed)
    folder = temporary_folder("bedboard-soak-")
    config = write_board(folder, wards, name="soak.yaml")
    states = {i: ward_state(i, seq=1) for i in range(wards)}
    frames_path = os.path.join(folder, "frames.jsonl")
    messages = 0
    with PrivateBroker(workdir=os.path.join(folder, "mosquitto")) as broker:
        publisher = _FastPublisher(broker.port)

        def everything():
            for i in range(wards):
                publisher.publish(status_topic("crs", agent_id(i)), b"online")
                publisher.publish(ward_topic("crs", ward_key(i), "state"),
                                  states[i].to_json())
            return 2 * wards

        messages += everything()
        board = start_display(config, broker, "--frame-log", frames_path,
                              log=os.path.join(folder, "board.log"))
        try:
            follower = FrameFollower(frames_path)
            follower.wait(lambda f: _shows(f, _tile_sums(states, 1)), timeout=60)
            time.sleep(1.0)
            start = (rss_mib(board.pid), open_fds(board.pid))
            restart_at = sorted(rng.sample(range(60, minutes - 60), restarts))
            per_minute = seconds / minutes
            began = time.monotonic()
            warm = None
            for minute in range(minutes):
                if minute == WARM_UP_MINUTES:
                    warm = (rss_mib(board.pid), open_fds(board.pid))
                if restart_at and minute == restart_at[0]:
                    restart_at.pop(0)
                    publisher.close()
                    broker.kill()
                    time.sleep(rng.uniform(0.2, 1.0))
                    broker.start()
                    publisher = _FastPublisher(broker.port)
                    messages += everything()
                for i in range(wards):
                    state = states[i]
                    if rng.random() < CHANGES_PER_WARD / minutes:
                        occupied = min(state.capacity - state.blocked,
                                       max(0, state.occupied + rng.choice((-1, 1))))
                        blocked = state.blocked if rng.random() < 0.8 else \
                            min(state.capacity - occupied, max(0, state.blocked
                                                                + rng.choice((-1, 1))))
                        states[i] = state = WardState(
                            capacity=state.capacity, occupied=occupied, blocked=blocked,
                            seq=state.seq + 1, at=state.at, agent=state.agent)
                    if rng.random() < 0.002:      # a panel restarts: offline, online
                        publisher.publish(status_topic("crs", agent_id(i)), b"offline")
                        publisher.publish(status_topic("crs", agent_id(i)), b"online")
                        messages += 2
                    publisher.publish(ward_topic("crs", ward_key(i), "state"),
                                      state.to_json())
                    messages += 1
                behind = began + (minute + 1) * per_minute - time.monotonic()
                if behind > 0:
                    time.sleep(behind)
            follower.wait(lambda f: _shows(f, _tile_sums(states, 1)), timeout=60)
            time.sleep(1.0)
            end = (rss_mib(board.pid), open_fds(board.pid))
            took = time.monotonic() - began
        finally:
            publisher.close()
            stop(board)
    return {"rss": (start[0], warm[0], end[0]), "fds": (start[1], warm[1], end[1]),
            "messages": messages,
            "restarts": restarts, "seconds": took}


def measure(seconds=120.0):
    """The soak's rows."""
    result = soak(seconds)
    rss, fds = result["rss"], result["fds"]
    what = "soak (a day of 40 wards in %.0f s: %d messages, %d broker restarts)" % (
        result["seconds"], result["messages"], result["restarts"])
    return [
        dict(what=what + ": RSS at the first frame", value=rss[0], unit="MiB"),
        dict(what="soak: RSS after the first 6 hours (caches warm)", value=rss[1], unit="MiB"),
        dict(what="soak: RSS at the end of the day", value=rss[2], unit="MiB"),
        dict(what="soak: RSS change, first frame → end", value=100.0 * (rss[2] - rss[0])
             / rss[0], unit="%", target=("within", 5.0)),
        dict(what="soak: RSS change, 06:00 → end", value=100.0 * (rss[2] - rss[1]) / rss[1],
             unit="%", target=("within", 5.0)),
        dict(what="soak: open fds, first frame / 06:00 / end", value=fds[2], unit="fds",
             note="%d / %d / %d" % fds),
        dict(what="soak: open fds change, first frame → end", value=100.0 * (fds[2] - fds[0])
             / fds[0], unit="%", target=("within", 5.0)),
        dict(what="soak: open fds change, 06:00 → end", value=100.0 * (fds[2] - fds[1])
             / fds[1], unit="%", target=("within", 5.0)),
    ]


if __name__ == "__main__":
    import sys
    for row in measure(float(sys.argv[1]) if len(sys.argv) > 1 else 120.0):
        print("%-90s %10.2f %s %s" % (row["what"], row["value"], row["unit"],
                                     row.get("note", "")))
