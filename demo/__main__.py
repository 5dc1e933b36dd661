"""`make demo`: the five colleges of the Central Referral System, live on a board.

Plans the demo's hospitals from their inventory (``bedboard plan`` of
config/demo-hospitals.yaml, into ``.demo/plan/``: demo/configs.py), then
starts a private Mosquitto on a free loopback port, one real
``bed-agent --simulate`` per ward that the chosen board shows, each from
the config plan made for it, the real ``bed-display``, and a driver that
presses the wards' buttons at a human pace.  With a screen the board opens in a
window; without one it says so and rewrites a snapshot PNG every few
seconds.  Ctrl-C stops everything, and nothing is left running.

Type ``AGENT-ID COMMAND`` (e.g. ``nrs-icu-unit-1 press freed``) and Enter to
press a button yourself; ``wards`` lists the agent ids.
"""

import argparse
import glob
import logging
import os
import signal
import sys
import threading
import time

from agent.config import load_agent
from bedboard.errors import BedboardError, ConfigError
from ops import OpsError
from bedboard.mosquitto import PrivateBroker
from bedboard.settings import BrokerSettings
from display.config import TileSpec, read as read_display_config

from .activity import Activity
from .cast import Board, Ward, stop_all
from .configs import INVENTORY, demo_copies, plan_demo, write_copies

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOARDS = {"nrs": "nrs-lobby.yaml", "portrait": "nrs-lobby-portrait.yaml",
          "referral": "referral.yaml"}


def prepare(workdir):
    """Plan the demo's hospitals into ``workdir/plan``, runnable copies into ``workdir/configs``."""
    planned = plan_demo(os.path.join(workdir, "plan"))
    configs = os.path.join(workdir, "configs")
    write_copies(demo_copies(planned), configs)
    return planned, configs


def read_wards(configs):
    """Every demo ward: ``{agent id: (config path, WardKey)}``, read as bed-agent reads it."""
    wards = {}
    for path in sorted(glob.glob(os.path.join(configs, "agents", "*.yaml"))):
        agent = load_agent(path)
        wards[agent.id] = (path, agent.ward)
    return wards


def board_tiles(board_path, wards):
    """The agent ids behind each tile of a board config, in the board's order.

    The tiles are the board's own (display.config); without any, one per
    department of the board's hospital, as the board draws them.
    """
    board = read_display_config(board_path).board
    specs = board.tiles or [TileSpec(board.hospital, department) for department in
                            sorted({key.department for _, key in wards.values()
                                    if key.hospital == board.hospital})]
    return [[agent_id for agent_id, (_, key) in wards.items() if spec.covers(key)]
            for spec in specs]


def _shown(path):
    """``path`` from the repository when it is in it, else as it is."""
    inside = os.path.relpath(path, ROOT)
    return path if inside.startswith("..") else inside


def has_screen():
    """Whether a window can be opened here (a desktop session)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--board", default="nrs",
                        help="nrs (the NRS lobby, default), portrait, referral "
                             "(all five colleges), or a board config file")
    parser.add_argument("--workdir", default=os.path.join(ROOT, ".demo"),
                        help="where the demo keeps its broker, ward ledgers, logs "
                             "and snapshot (default .demo)")
    parser.add_argument("--headless", action="store_true",
                        help="write snapshots even when there is a screen")
    parser.add_argument("--snapshot-every", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop by itself after this long (default: run until Ctrl-C)")
    parser.add_argument("--pace", type=float, default=1.2, metavar="SECONDS",
                        help="mean time between simulated presses")
    parser.add_argument("--seed", type=int, default=None)
    return parser.parse_args(argv)


def main(argv=None):
    """Run the demo until Ctrl-C (or ``--seconds``); 0 when everything stopped cleanly."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.board not in BOARDS and not os.path.isfile(args.board):
        print("make demo: no board %r (choose nrs, portrait or referral)" % args.board,
              file=sys.stderr)
        return 2
    workdir = os.path.abspath(args.workdir)
    for folder in ("state", "logs"):
        os.makedirs(os.path.join(workdir, folder), exist_ok=True)

    try:
        planned, configs = prepare(workdir)
        board_path = os.path.join(configs, BOARDS[args.board]) \
            if args.board in BOARDS else args.board
        all_wards = read_wards(configs)
        tiles = board_tiles(board_path, all_wards)
    except ConfigError as exc:
        print("make demo: a demo config is broken:\n%s" % exc, file=sys.stderr)
        return 2
    except (OpsError, BedboardError) as exc:
        print("make demo: cannot plan %s: %s" % (INVENTORY, exc), file=sys.stderr)
        return 1
    shown = sorted({agent_id for tile in tiles for agent_id in tile})

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    broker = PrivateBroker(workdir=os.path.join(workdir, "mosquitto"))
    broker.start()
    address = "%s:%d" % (broker.host, broker.port)
    wards = {a: Ward(all_wards[a][0], a, all_wards[a][1], workdir, address) for a in shown}
    headless = args.headless or not has_screen()
    snapshot = os.path.join(workdir, "board.png") if headless else None
    board = Board(board_path, address, snapshot, args.snapshot_every,
                  log_path=os.path.join(workdir, "logs", "board.log"))
    activity = Activity(wards, tiles, BrokerSettings(host=broker.host, port=broker.port),
                        pace=args.pace, seed=args.seed)
    status = 0
    try:
        for ward in wards.values():
            ward.start()
        board.start()
        activity.start()
        print("make demo: Mosquitto on %s, %d simulated wards, board %s"
              % (address, len(wards), _shown(board_path)))
        if headless:
            print("make demo: no screen here, so the board is written to %s every %g s"
                  % (snapshot, args.snapshot_every))
        print("make demo: type 'AGENT-ID press taken' (or freed, blocked, unblocked) "
              "to press a ward's button; 'wards' lists them; Ctrl-C stops everything.")
        print("make demo: the wards and boards are bedboard plan's, of %s (in %s: %d "
              "devices, %d unchanged since the last start)" % (
                  _shown(INVENTORY), _shown(planned.out), len(planned.devices),
                  sum(1 for state in planned.devices.values() if state == "unchanged")))
        threading.Thread(target=_console, args=(wards, stop), daemon=True).start()
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while not stop.wait(0.5):
            if deadline is not None and time.monotonic() >= deadline:
                break
            if not board.running:
                print("make demo: the board stopped (exit %s); see %s"
                      % (board.process.returncode, board.log_path), file=sys.stderr)
                status = 1
                break
    finally:
        print("make demo: stopping ...", flush=True)
        activity.stop()
        stop_all([w.process for w in wards.values()] + [board.process])
        broker.close()
        print("make demo: stopped %d wards, the board and the broker" % len(wards))
    return status


def _console(wards, stop):
    """Forward ``AGENT-ID COMMAND`` lines from the terminal to that ward's agent."""
    for line in sys.stdin:
        words = line.split(None, 1)
        if not words:
            continue
        if words[0] == "wards":
            print(" ".join(sorted(wards)))
            continue
        ward = wards.get(words[0])
        if ward is None or len(words) < 2:
            print("make demo: say 'AGENT-ID press taken'; 'wards' lists the agent ids")
            continue
        before = ward.reply_count
        if not ward.send(words[1].strip()):
            print("make demo: %s is not running right now" % words[0])
            continue
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not stop.is_set():
            if ward.reply_count > before:
                print("%s: %s" % (words[0], ward.last_replies(1)[-1]))
                break
            time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
