"""The command line's argument types, and the bridge its options describe (``bedboard``).

Each type turns one word of the command line into a value or an argparse
error that names what was wrong, as every bedboard program reports a bad
value.
"""

import argparse
import logging

from bedboard.errors import ConfigError
from bedboard.settings import parse_address
from bedboard.topics import check_device_id, check_slug

from .broker import Bridge

_LOG = logging.getLogger(__name__)


def port(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a port number, got %r" % text) from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be between 1 and 65535, got %d" % value)
    return value


def count(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number, got %r" % text) from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative, got %d" % value)
    return value


def seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of seconds, got %r"
                                         % text) from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0 and 3600, got %s" % text)
    return value


def name(text):
    try:
        return check_device_id(text, "name")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def slug(text):
    try:
        return check_slug(text, "hospital")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def address_or_none(text):
    return None if text.lower() == "none" else text


def bridge(args):
    """The Bridge the command line describes, or None."""
    if bool(args.bridge_cert) != bool(args.bridge_key):
        raise ConfigError(["--bridge-cert and --bridge-key go together"])
    if bool(args.bridge_user) != bool(args.bridge_password_file):
        raise ConfigError(["--bridge-user and --bridge-password-file go together"])
    given = [flag for flag, value in (
        ("--bridge-ca", args.bridge_ca), ("--bridge-cert", args.bridge_cert),
        ("--bridge-user", args.bridge_user), ("--bridge-insecure", args.bridge_insecure))
        if value]
    if given and not args.bridge_to:
        raise ConfigError(["%s: needs --bridge-to" % ", ".join(given)])
    if args.bridge_cert and not args.bridge_ca:
        raise ConfigError(["--bridge-cert needs --bridge-ca (the cluster's CA)"])
    if not args.bridge_to:
        return None
    tls = (args.bridge_ca, args.bridge_cert, args.bridge_key) if args.bridge_ca else None
    return Bridge(nodes=args.bridge_to, tls=tls, username=args.bridge_user,
                  password_file=args.bridge_password_file,
                  insecure=args.bridge_insecure)


def nodes(text):
    found = []
    for part in text.split(","):
        try:
            found.append(parse_address(part.strip(), 1883))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return found
