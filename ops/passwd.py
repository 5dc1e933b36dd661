"""Device passwords: made here, kept in ``secrets/``, hashed for Mosquitto's password_file.

Mosquitto 2.0's hashed format (``mosquitto_passwd -H sha512-pbkdf2``, its
default) is one line per user::

    USER:$7$ITERATIONS$BASE64(SALT)$BASE64(PBKDF2-HMAC-SHA512(password, SALT))

with a 12-byte salt and a 64-byte hash; ``mosquitto_passwd`` uses 101
iterations and so do we.  The passwords are random (32 characters from
:func:`secrets.token_urlsafe`, 192 bits), so stretching adds nothing a
guesser could feel; a slow hash would only slow down every reconnect.

Each device's password is kept in plain text in ``secrets/<device id>``
(mode 0600) for the technician to copy to that device's ``password_file``;
a password that is already there is kept, so running the command again
changes nobody's password unless asked.
"""

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets

from . import OpsError
from .files import write_file

_LOG = logging.getLogger(__name__)

ITERATIONS = 101
SALT_BYTES = 12


def new_password():
    """A fresh random password (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def hash_password(password, salt=None, iterations=ITERATIONS):
    """The ``$7$…`` hash of ``password`` that Mosquitto's password_file takes."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return "$7$%d$%s$%s" % (iterations, base64.b64encode(salt).decode("ascii"),
                            base64.b64encode(digest).decode("ascii"))


def verify(password, hashed):
    """Whether ``password`` matches a ``$7$`` hash (any other hash: False)."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[:2] != ["", "7"]:
        return False
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3], validate=True)
        digest = base64.b64decode(parts[4], validate=True)
    except (ValueError, binascii.Error):
        return False
    if not 1 <= iterations <= 10_000_000:
        return False
    mine = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(mine, digest)


def read_passwd(path):
    """``{user: hash}`` from an existing password_file ({} when there is none)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise OpsError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    entries = {}
    for line in lines:
        user, sep, hashed = line.partition(":")
        if sep and user and not line.startswith("#"):
            entries[user] = hashed.strip()
    return entries


def passwd_text(entries):
    """A password_file's text from ``{user: hash}``, sorted by user."""
    return "".join("%s:%s\n" % (user, entries[user]) for user in sorted(entries))


class Secrets:
    """The folder of plain-text device passwords, one file per user, mode 0600."""

    def __init__(self, folder):
        self.folder = folder

    def path(self, user):
        """Where ``user``'s password is kept."""
        return os.path.join(self.folder, user)

    def read(self, user):
        """``user``'s kept password, or None."""
        try:
            with open(self.path(user), encoding="utf-8") as handle:
                password = handle.read().strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise OpsError("cannot read %s: %s" % (self.path(user), exc.strerror
                                                   or exc)) from None
        return password or None

    def write(self, user, password):
        """Keep ``password`` for ``user`` (mode 0600 in a 0700 folder)."""
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        os.chmod(self.folder, 0o700)
        write_file(self.path(user), password + "\n", mode=0o600)

    def users(self):
        """The users that have a kept password."""
        try:
            return sorted(name for name in os.listdir(self.folder)
                          if not name.startswith("."))
        except FileNotFoundError:
            return []


def missing_secrets(users, secrets_, old_entries, rotate=()):
    """The users that had a password (in ``old_entries``) whose kept one is gone.

    Making them a new one silently would lock each out once the new passwd
    is installed: the caller refuses unless told.
    """
    return [user for user in users
            if user in old_entries and user not in rotate and secrets_.read(user) is None]


def settle_secrets(users, secrets_, rotate=()):
    """Give every user a kept password; return ``(passwords, made)``.

    A user with a kept password keeps it; ``rotate`` users and users without
    one get a new one, kept at once.  ``made`` lists the users whose password
    is new.
    """
    passwords, made = {}, []
    for user in users:
        password = None if user in rotate else secrets_.read(user)
        if password is None:
            password = new_password()
            secrets_.write(user, password)
            made.append(user)
        passwords[user] = password
    return passwords, made


def settle_passwords(users, secrets_, old_entries, rotate=()):
    """Give every user a password and its hash; return ``(entries, made)``.

    As :func:`settle_secrets`; each user keeps its old hash when that still
    matches its password, so that the file does not change.
    """
    passwords, made = settle_secrets(users, secrets_, rotate)
    entries = {}
    for user, password in passwords.items():
        old = old_entries.get(user)
        entries[user] = old if old and verify(password, old) else hash_password(password)
    return entries, made
