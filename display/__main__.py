"""``bed-display``: the lobby board's command line (also ``python -m display``).

::

    bed-display --config FILE                 the full-screen board
    bed-display --config FILE --check         validate the config and exit
    bed-display --config FILE --snapshot OUT.png [--wait S] [--snapshot-every S]
    bed-display --config FILE --frame-log FRAMES.jsonl   also log each new frame

Exit status (SPEC.md): 0 on success, 2 on a usage or config error (every
problem printed, each with its file, line and key), 1 on any other failure,
in one line — a traceback is only ever logged at debug level (``--verbose``).
On SIGTERM (or Ctrl-C) it publishes ``offline``, gives the screen back and
exits 0.
"""

import argparse
import logging
import os
import signal
import sys
from dataclasses import replace

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402  (after hiding pygame's banner)

from bedboard.errors import BedboardError, ConfigError, DisplayError  # noqa: E402
from bedboard.settings import override_broker  # noqa: E402

from . import config  # noqa: E402

_LOG = logging.getLogger("display")


def _positive(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of seconds, got %r" % text) from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError("must be between 0 and 86400 seconds, got %s" % text)
    return value


def _not_negative(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of seconds, got %r" % text) from None
    if not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError("must be between 0 and 86400 seconds, got %s" % text)
    return value


def parse_args(argv=None):
    """The command line, checked (usage errors exit 2)."""
    parser = argparse.ArgumentParser(
        prog="bed-display",
        description="The hospital lobby's bed-vacancy board, full screen.")
    parser.add_argument("--config", required=True, metavar="FILE",
                        help="the board's YAML config")
    parser.add_argument("--check", action="store_true",
                        help="validate the config and exit")
    parser.add_argument("--snapshot", metavar="OUT.png",
                        help="draw one frame into a PNG (no screen needed) and exit")
    parser.add_argument("--wait", type=_not_negative, default=None, metavar="SECONDS",
                        help="with --snapshot: wait at most this long for every tile "
                             "to have data (default 5)")
    parser.add_argument("--snapshot-every", type=_positive, default=None,
                        metavar="SECONDS",
                        help="with --snapshot: keep running and rewrite the PNG this "
                             "often until stopped")
    parser.add_argument("--broker", metavar="HOST[:PORT]",
                        help="use this broker instead of the config's")
    parser.add_argument("--window", action="store_true",
                        help="in a window rather than full screen (a desktop, the demo)")
    parser.add_argument("--frame-log", metavar="FILE",
                        help="append one JSON line to FILE for each frame shown that "
                             "says something new (tests, audits, benchmarks)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="log debug detail")
    args = parser.parse_args(argv)
    if args.snapshot is None and (args.wait is not None or args.snapshot_every is not None):
        parser.error("--wait and --snapshot-every go with --snapshot")
    if args.snapshot is not None and args.window:
        parser.error("--window and --snapshot do not go together")
    return args


def _settings(args):
    settings = config.read(args.config)
    if args.broker:
        settings = replace(settings, broker=override_broker(settings.broker, args.broker))
    return settings


def _run(settings, args):
    from .app import BoardApp        # pylint: disable=import-outside-toplevel
    from .framelog import FrameLog   # pylint: disable=import-outside-toplevel
    from .screen import Screen       # pylint: disable=import-outside-toplevel
    frame_log = None
    if args.frame_log:
        try:
            frame_log = FrameLog(args.frame_log)
        except OSError as exc:
            raise DisplayError("cannot open the frame log %s: %s"
                               % (args.frame_log, exc.strerror or exc)) from None
    try:
        app = BoardApp(settings, frame_log=frame_log)
    except BaseException:
        if frame_log is not None:
            frame_log.close()
        raise
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, app.request_stop)
    signal.set_wakeup_fd(app.waker.fileno, warn_on_full_buffer=False)
    try:
        if args.snapshot:
            wait = 5.0 if args.wait is None else args.wait
            return app.snapshot(args.snapshot, wait, args.snapshot_every)
        title = settings.display.title
        screen = Screen(settings.display.size, settings.display.rotate, window=args.window,
                        caption=title.en or next(iter(title.texts().values()), "bedboard"))
        try:
            return app.run(screen)
        finally:
            screen.close()
    finally:
        signal.set_wakeup_fd(-1)
        app.close()
        if frame_log is not None:
            frame_log.close()
        pygame.quit()


def main(argv=None):
    """Run ``bed-display``; return its exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not args.verbose:
        logging.getLogger("bedboard.paho").setLevel(logging.WARNING)
    try:
        settings = _settings(args)
        if args.check:
            tiles = settings.board.tiles
            print("%s: OK: display %s, %s, broker %s:%d" % (
                args.config, settings.display.id,
                "%d tiles" % len(tiles) if tiles else "one tile per department of %s"
                % settings.board.hospital, settings.broker.host, settings.broker.port))
            return 0
        return _run(settings, args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except BedboardError as exc:
        _LOG.debug("stopped by an error", exc_info=True)
        print("bed-display: %s" % exc, file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
        _LOG.debug("unexpected error", exc_info=True)
        print("bed-display: unexpected error: %s: %s (run with --verbose for details)"
              % (type(exc).__name__, exc), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
