"""One file per Pi: ``plan`` packs a device's files into ``ID.tar.gz``, ``install`` opens it.

A bundle holds what the device installs under /etc/bedboard and nothing
else: its config (``agent.yaml`` or ``display.yaml``), its own password
and the CA's certificate — never another device's password, never the
CA's key.  It is made the same way every time (names in order, owner root,
time zero, gzip without a name or a time), so planning again leaves it
byte for byte as it was.

Opening one is careful, since a bundle is a file that travelled: at most
MAX_BUNDLE bytes, at most MAX_MEMBERS members of at most MAX_MEMBER bytes
each, regular files only (no link, folder or device), each a plain name (no
``/``, no ``..``, no leading dot), none twice, nothing the config does not
name.  Its members are read into memory and written, mode 0600, into a
private temporary folder — never extracted by ``tarfile`` — and then the
existing install (:mod:`ops.install`) takes the config, the password and
the CA from there, with every check and guarantee it gives a config.
"""

import gzip
import io
import logging
import os
import subprocess
import tarfile
import tempfile
import zlib

from bedboard.errors import ConfigError

from .devices import read_device
from .install import install

_LOG = logging.getLogger(__name__)

MAX_BUNDLE = 1 << 20
MAX_MEMBER = 256 << 10
MAX_MEMBERS = 8
CONFIGS = ("agent.yaml", "display.yaml")
# The files a bundle may carry, by the config key that names them, and the
# install flag each stands for.
CARRIED = {"broker.password_file": "secret", "broker.tls.ca": "ca",
           "uplink.token_file": "uplink_token"}


def bundle_bytes(members):
    """A deterministic ``.tar.gz`` of ``members``: ``[(name, data, mode)]``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data, mode in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0,
                       compresslevel=9) as stream:
        stream.write(raw.getvalue())
    return packed.getvalue()


def is_bundle(path):
    """Whether ``path`` names a bundle (by its name, or a gzip file's first bytes)."""
    if path.endswith((".tar.gz", ".tgz")):
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def _member_problem(member, seen):
    name = member.name
    if not member.isreg():
        return "%s is not a plain file (a link, a folder or a device): refused" % name
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\0" in name:
        return "%r is not a plain file name (no folders, no .., no leading dot)" % name
    if name in seen:
        return "%s is in it twice" % name
    if member.size > MAX_MEMBER:
        return "%s is %d bytes, more than a device's file can be (%d)" % (
            name, member.size, MAX_MEMBER)
    return None


def open_bundle(path):
    """The members of the bundle at ``path``: ``{name: bytes}``; ConfigError when it is not one."""
    def refused(problem):
        return ConfigError(["%s: %s" % (path, problem)])
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BUNDLE + 1)
    except OSError as exc:
        raise refused("cannot read: %s" % (exc.strerror or exc)) from None
    if len(data) > MAX_BUNDLE:
        raise refused("more than %d bytes: not a bundle from bedboard plan" % MAX_BUNDLE)
    members = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            while True:
                member = tar.next()
                if member is None:
                    break
                if len(members) == MAX_MEMBERS:
                    raise refused("more than %d files: not a bundle from bedboard plan"
                                  % MAX_MEMBERS)
                problem = _member_problem(member, members)
                if problem:
                    raise refused(problem)
                members[member.name] = tar.extractfile(member).read(MAX_MEMBER)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise refused("not a bundle (a .tar.gz from bedboard plan): %s" % exc) from None
    return members


def _write_private(folder, name, data):
    descriptor = os.open(os.path.join(folder, name),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _given(path, members, config, uplink_token=None):
    """``{install flag: file}`` for each file the config names; or raise ConfigError.

    Each is a member of the bundle, in ``config``'s folder; the portal's
    token may come from the command line instead (``--uplink-token``).
    """
    folder = os.path.dirname(config)
    device = read_device(config, lambda key, named: None)
    problems, given, named = [], {}, {os.path.basename(config)}
    for key, target in sorted(device.files.items()):
        base = os.path.basename(target)
        if key == "uplink.token_file" and uplink_token:
            given["uplink_token"] = uplink_token
        elif key not in CARRIED:
            problems.append("%s: its config names %s (%s), which a bundle does not carry"
                            % (path, key, target))
        elif base not in members:
            problems.append("%s: has no %s, which its config names as %s (%s)"
                            % (path, base, key, target))
        else:
            given[CARRIED[key]] = os.path.join(folder, base)
            named.add(base)
    problems += ["%s: holds %s, which its config does not name: a bundle carries one "
                 "device's files and nothing else" % (path, name)
                 for name in sorted(set(members) - named)]
    if problems:
        raise ConfigError(problems)
    return given


def install_bundle(path, root=None, dry_run=False, uplink_token=None,
                   run=subprocess.run, out=print):
    """``bedboard install BUNDLE``: check the bundle, then install from it; the exit status."""
    members = open_bundle(path)
    configs = [name for name in CONFIGS if name in members]
    if len(configs) != 1:
        raise ConfigError(["%s: must hold one device config (%s), holds %s" % (
            path, " or ".join(CONFIGS), ", ".join(sorted(members)) or "nothing")])
    with tempfile.TemporaryDirectory(prefix="bedboard-bundle-") as folder:
        for name, data in members.items():
            _write_private(folder, name, data)
        config = os.path.join(folder, configs[0])
        given = _given(path, members, config, uplink_token)
        if uplink_token:
            given["uplink_token"] = uplink_token     # install says so when it is not named

        def told(line):
            out(line.replace(folder + os.sep, path + ":"))
        return install(config, root=root, dry_run=dry_run, run=run, out=told, **given)
