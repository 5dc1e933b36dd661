"""Writing the files the operators' tool makes: whole or not at all, and only when changed.

A reader (Mosquitto rereading its ACL, systemd reading a unit) must never
see half a file, so each is written beside its target, synced and renamed
over it.  A file that already says the same thing, with the same mode, is
left alone — which is what makes running a command twice change nothing.
"""

import logging
import os
import tempfile

from . import OpsError

_LOG = logging.getLogger(__name__)


def same_file(path, data, mode):
    """Whether ``path`` already holds ``data`` with permission bits ``mode``."""
    try:
        if os.path.islink(path) or (os.stat(path).st_mode & 0o7777) != mode:
            return False
        with open(path, "rb") as handle:
            return handle.read() == data
    except OSError:
        return False


def write_file(path, content, mode=0o644):
    """Make ``path`` hold ``content`` (text or bytes) with ``mode``; return whether it changed."""
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    if same_file(path, data, mode):
        return False
    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(prefix=".bedboard-", dir=folder)
    except OSError as exc:
        raise OpsError("cannot write in %s: %s" % (folder, exc.strerror or exc)) from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise OpsError("cannot write %s: %s" % (path, exc.strerror or exc)) from None
    return True
