"""``bed-agent`` (also ``python -m agent``): the ward agent's command line.

    bed-agent --config FILE [--check] [--simulate | --simulate-from FIFO]
              [--broker HOST[:PORT]]

Exit status (SPEC.md): 0 on success, 2 on a usage or config error (every
problem printed, each naming the file, the line and the key), 1 on any other
failure, with a one-line message and never a traceback.  SIGTERM (and
Ctrl-C) publish ``offline``, release the GPIO pins and exit 0.
"""

import argparse
import logging
import signal
import sys
from dataclasses import replace

from bedboard.errors import BedboardError, ConfigError
from bedboard.settings import override_broker

from .config import load_agent

_LOG = logging.getLogger("agent")

USAGE_ERROR = 2
FAILURE = 1


def _parser():
    parser = argparse.ArgumentParser(
        prog="bed-agent",
        description="The ward agent: turns a ward's button presses and bed sensors "
                    "into a durable ward count on the hospital's broker.")
    parser.add_argument("--config", required=True, metavar="FILE",
                        help="the agent's YAML config (e.g. /etc/bedboard/agent.yaml)")
    parser.add_argument("--check", action="store_true",
                        help="check the config and exit")
    parser.add_argument("--simulate", action="store_true",
                        help="run on gpiozero's mock pins, driven by commands on "
                             "standard input: press NAME, hold NAME SECONDS, "
                             "close NAME, open NAME, wait SECONDS")
    parser.add_argument("--simulate-from", metavar="FIFO",
                        help="tests and containers only: run on mock pins, driven by "
                             "--simulate's commands written to the named pipe FIFO "
                             "(made if absent), for as long as the agent runs")
    parser.add_argument("--broker", metavar="HOST[:PORT]",
                        help="use this broker instead of the config's")
    parser.add_argument("--deliver-wait", type=float, default=10.0, metavar="SECONDS",
                        help="with --simulate: how long to wait at end of input for "
                             "the broker (and portal) to take what is pending "
                             "(default 10)")
    parser.add_argument("--log-level", default="info",
                        choices=("debug", "info", "warning", "error"),
                        help="how much to log on standard error (default info)")
    return parser


def _settings(args):
    settings = load_agent(args.config)
    if args.broker:
        settings = replace(settings, broker=override_broker(settings.broker,
                                                            args.broker))
    return settings


def _describe(settings):
    inputs = ", ".join("%s (%s, GPIO%d)" % (i.name, i.kind, i.pin)
                       for i in settings.inputs)
    return ("%s: agent %s, ward %s, capacity %d, broker %s:%d, inputs: %s%s"
            % ("config OK", settings.id, settings.ward, settings.capacity,
               settings.broker.host, settings.broker.port, inputs,
               ", uplink %s" % settings.uplink.url if settings.uplink else ""))


def _run(args, settings):
    # Imported here so that --check needs neither gpiozero nor paho to start.
    from .app import WardAgent
    from .panel import make_pin_factory
    from .simulate import Simulator, open_fifo

    commands = open_fifo(args.simulate_from) if args.simulate_from else None
    if args.simulate or commands:
        from gpiozero.pins.mock import MockFactory
        factory = MockFactory()
    else:
        factory = make_pin_factory(settings.pin_factory)
    try:
        agent = WardAgent(settings, factory)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: agent.stop())
        if args.simulate:
            Simulator(agent, sys.stdin, sys.stdout, args.deliver_wait).start()
        elif commands:
            Simulator(agent, commands, sys.stdout).start()
        return agent.run()
    finally:
        factory.close()


def main(argv=None):
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)  # exits 2 on a usage error
    if args.simulate and args.simulate_from:
        parser.error("--simulate and --simulate-from do not go together")
    logging.basicConfig(level=getattr(logging, args.log_level.upper()),
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        settings = _settings(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return USAGE_ERROR
    if args.check:
        print(_describe(settings))
        return 0
    try:
        return _run(args, settings)
    except (BedboardError, OSError) as exc:
        print("bed-agent: %s" % exc, file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - no traceback ever reaches a user
        _LOG.debug("unexpected failure", exc_info=True)
        print("bed-agent: unexpected failure: %s: %s" % (type(exc).__name__, exc),
              file=sys.stderr)
    return FAILURE


if __name__ == "__main__":
    sys.exit(main())
