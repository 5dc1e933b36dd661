"""What the board remembers across its own restarts: the wards it has seen.

A department-wide tile (no ``wards:`` list in the config) counts the wards
it hears from.  After a restart, a ward whose agent died and whose state the
broker no longer holds (a broker restarted without persistence, a retained
message cleared) would never be heard of again: its tile would turn from
PART DATA into a confident, complete figure.  So the board keeps, on its own
disk, every ward it has counted, and at start counts them again — as not
reporting until they speak.  A ward leaves the memory only when it is
retired (its empty retained state, ``bedboard retire``) — and then the
memory keeps that it was retired: a copy of its old state (a state node
whose copies lag, an old autosave restored) does not bring it back after a
restart either; its panel speaking does.

The file is ``wards.json`` in ``display.state_dir`` (systemd's
``StateDirectory=bed-display``: ``/var/lib/bed-display``)::

    {"version": 1, "wards": [["nrs", "medicine", "female"], ...],
     "retired": [["nrs", "medicine", "old-ward"], ...]}

(``retired`` *added*; a board from before it reads the file and leaves it out.)

It is bounded (:data:`MAX_REMEMBERED` wards, the board's own ward limit),
written whole and atomically (a temporary file, fsync, rename, fsync of the
folder: a power cut leaves the old file or the new one, never half of one),
and at most every :data:`SAVE_EVERY` seconds while wards come and go.  A
file that cannot be read is set aside (``wards.json.bad``) and the board
starts with an empty memory: it never refuses to show the wall for it.
"""

import json
import logging
import os
import tempfile

from bedboard.topics import WardKey

_LOG = logging.getLogger(__name__)

FILE_NAME = "wards.json"
VERSION = 1
MAX_REMEMBERED = 5000        # as display.board.MAX_WARDS
SAVE_EVERY = 5.0             # seconds between two writes while wards come and go


class WardMemory:
    """The wards the board has counted, kept in ``folder`` (None: in memory only)."""

    def __init__(self, folder, limit=MAX_REMEMBERED):
        self.folder = folder
        self.limit = limit
        self._wards = set()
        self._retired = {}          # WardKey -> True, oldest first
        self._dirty = False
        self._saved_at = None
        self._told_full = False
        self._told_unwritable = False
        if folder is not None:
            self._load()

    @property
    def path(self):
        """The memory's file, or None."""
        return None if self.folder is None else os.path.join(self.folder, FILE_NAME)

    @property
    def dirty(self):
        """Whether it holds something not yet written."""
        return self._dirty

    def wards(self):
        """Every ward remembered, sorted."""
        return sorted(self._wards)

    def __len__(self):
        return len(self._wards)

    def __contains__(self, key):
        return key in self._wards

    def note(self, key):
        """Remember ward ``key``; return whether it is new to the memory."""
        if key in self._wards:
            return False
        if len(self._wards) >= self.limit:
            if not self._told_full:
                self._told_full = True
                _LOG.warning("the board remembers at most %d wards: %s and later ones are "
                             "not remembered across restarts", self.limit, key)
            return False
        self._wards.add(key)
        self._dirty = True
        return True

    def forget(self, key):
        """Forget ward ``key`` (it was retired); return whether it was remembered."""
        if key not in self._wards:
            return False
        self._wards.discard(key)
        self._dirty = True
        return True

    def retired(self):
        """Every ward remembered as retired, oldest first."""
        return list(self._retired)

    def retire(self, key):
        """Remember that ward ``key`` was retired (the oldest beyond the limit go)."""
        self._retired.pop(key, None)
        self._retired[key] = True
        while len(self._retired) > self.limit:
            del self._retired[next(iter(self._retired))]
        self._dirty = True

    def unretire(self, key):
        """Ward ``key`` is back; return whether it was remembered as retired."""
        if self._retired.pop(key, None) is None:
            return False
        self._dirty = True
        return True

    def save_due(self, now):
        """Write the memory if it changed and the last write is ``SAVE_EVERY`` old."""
        if self._dirty and (self._saved_at is None or now - self._saved_at >= SAVE_EVERY):
            self._saved_at = now
            return self.save()
        return False

    def save(self):
        """Write the memory now, atomically; return whether it was written."""
        if self.folder is None:
            self._dirty = False
            return False
        data = json.dumps({"version": VERSION,
                           "wards": [[key.hospital, key.department, key.ward]
                                     for key in sorted(self._wards)],
                           "retired": [[key.hospital, key.department, key.ward]
                                       for key in self._retired]},
                          separators=(",", ":")).encode("utf-8")
        temporary = None
        try:
            os.makedirs(self.folder, mode=0o750, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".%s." % FILE_NAME, dir=self.folder)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
            temporary = None
            folder = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        except OSError as exc:
            if not self._told_unwritable:
                self._told_unwritable = True
                _LOG.warning("cannot keep the wards seen in %s (%s): after a restart a "
                             "department-wide tile knows only the wards it hears from",
                             self.path, exc.strerror or exc)
            return False
        finally:
            if temporary is not None:
                try:
                    os.unlink(temporary)
                except OSError:
                    pass
        self._dirty = False
        return True

    def _load(self):
        path = self.path
        try:
            with open(path, "rb") as handle:
                document = json.loads(handle.read().decode("utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            self._set_aside(path, exc)
            return
        wards = document.get("wards") if isinstance(document, dict) else None
        if not isinstance(wards, list) or document.get("version") != VERSION:
            self._set_aside(path, "not a version %d memory" % VERSION)
            return
        for entry in wards[:self.limit]:
            key = _key(path, entry)
            if key is not None:
                self._wards.add(key)
        retired = document.get("retired", [])
        for entry in retired[-self.limit:] if isinstance(retired, list) else ():
            key = _key(path, entry)
            if key is not None:
                self._retired[key] = True
        _LOG.info("remembered %d wards (and %d retired) from %s", len(self._wards),
                  len(self._retired), path)

    def _set_aside(self, path, why):
        _LOG.warning("%s cannot be read (%s): set aside as %s.bad; the board starts with "
                     "no memory of the wards it saw", path, why, FILE_NAME)
        try:
            os.replace(path, path + ".bad")
        except OSError:
            pass


def _key(path, entry):
    """The WardKey of a ``[hospital, department, ward]`` entry, or None (said so)."""
    try:
        if not isinstance(entry, list) or len(entry) != 3:
            raise ValueError("not [hospital, department, ward]")
        return WardKey(*entry)       # checks each name
    except ValueError as exc:
        _LOG.warning("%s: leaving out %r: %s", path, entry, exc)
        return None
