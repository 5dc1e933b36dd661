"""``bedboard install``: a ward panel or a lobby display, installed on its Pi from its config.

As root on the Pi (or into ``--root DIR``, for tests and for preparing an SD
card's tree), in order:

1. check the config with its program's own reader — the files it names
   (password, CA, portal token) being the ones given on the command line or
   already in place;
2. the service user ``bedboard`` (system user, no home, no shell), and the
   groups its unit names that the system lacks;
3. ``/etc/bedboard/agent.yaml`` or ``display.yaml``, and the files it names
   (the password and the token mode 0600, owned by the service user);
4. the unit (``bed-agent.service`` or ``bed-display.service``) as the
   package ships it (``systemd/``, package data ``ops/systemd/``: the same
   from a wheel as from a clone), pointing at this installation's programs,
   enabled for ``multi-user.target``;
5. for a display: console blanking off (``consoleblank=0`` on the kernel
   command line);
6. ``systemctl daemon-reload`` and a restart of the unit.

Each step first looks whether there is anything to do, so a second run
changes nothing.  ``--dry-run`` prints the steps; ``--root`` skips what only
a running system can do (users, ownership, systemctl) and says so.

It touches only its own.  Every file a config names must be under
``/etc/bedboard`` (written without ``..``), and is refused when it leads
anywhere else — a symbolic link out of the folder, or out of ``--root`` —
so a config can never make it chmod or chown ``/etc/shadow``; the same is
checked again just before each file is written, chmod'ed or chown'ed.  A
``--secret`` named for another device (broker-config's ``secrets/ID``) is
refused, and so is a password file that the other program's config on this
machine already uses for another device.
"""

import grp
import importlib.resources
import logging
import os
import pwd
import subprocess
import sys
from dataclasses import dataclass

from bedboard.errors import ConfigError, ContractError
from bedboard.topics import check_device_id

from . import OpsError
from .devices import AGENT, DISPLAY, read_device
from .files import same_file, write_file

_LOG = logging.getLogger(__name__)

SERVICE_USER = "bedboard"
ETC = "/etc/bedboard"
UNITS = "/etc/systemd/system"
STATE_DIR = "/var/lib/bed-agent"
TEMPLATE_PREFIX = "/opt/bedboard/.venv"
CMDLINES = ("/boot/firmware/cmdline.txt", "/boot/cmdline.txt")

PROGRAMS = {
    AGENT: {"unit": "bed-agent.service", "config": "agent.yaml",
            "groups": ("gpio",), "program": "bed-agent"},
    DISPLAY: {"unit": "bed-display.service", "config": "display.yaml",
              "groups": ("video", "render", "input"), "program": "bed-display"},
}
# What each file key holds: its mode, whether the service user owns it, the flag.
FILES = {
    "broker.password_file": (0o600, True, "--secret"),
    "broker.tls.ca": (0o644, False, "--ca"),
    "broker.tls.cert": (0o644, False, None),
    "broker.tls.key": (0o600, True, None),
    "uplink.token_file": (0o600, True, "--uplink-token"),
}


@dataclass
class Step:
    """One thing install does: what, whether it is needed, and how."""

    what: str
    needed: object          # () -> bool
    do: object              # () -> None
    live_only: bool = False
    check: bool = False     # only looks: ``needed`` means a problem, ``what`` says it


class Installer:
    """The steps for one device config, into ``root`` (None: this system)."""

    def __init__(self, config, root=None, secret=None, ca=None, uplink_token=None,
                 run=subprocess.run):
        self.root = os.path.abspath(root) if root else None
        self.run = run
        self.given = {"broker.password_file": secret, "broker.tls.ca": ca,
                      "uplink.token_file": uplink_token}
        self.device = self._read(config)
        self.program = PROGRAMS[self.device.kind]
        self.config = config
        self.changed = False
        self.steps = []
        self._folders = set()
        self._plan()

    # -- where things go ---------------------------------------------------------
    def at(self, path):
        """``path`` on the system being installed (under ``root``)."""
        return os.path.join(self.root, path.lstrip("/")) if self.root else path

    # -- the config ----------------------------------------------------------------
    def _read(self, config):
        problems = []
        for key, source in self.given.items():
            if source is not None and not os.path.isfile(source):
                problems.append("%s %s: no such file" % (FILES[key][2], source))
        if problems:
            raise ConfigError(problems)

        def file_check(key, path):
            if not os.path.isabs(path):
                return "must be an absolute path, got %s" % path
            place = self._place(path)
            if place:
                return place
            if self.given.get(key):
                return None
            if os.path.isfile(self.at(path)):
                return None
            flag = FILES.get(key, (None, None, None))[2]
            return "%s is not there%s%s" % (
                path, " (under %s)" % self.root if self.root else "",
                ": give it with %s FILE" % flag if flag else "")
        device = read_device(config, file_check)
        problems = ["%s: %s given, but the config has no %s" % (
            device.name, FILES[key][2], key)
            for key, source in self.given.items()
            if source is not None and key not in device.files]
        if device.kind not in PROGRAMS:
            problems.append("%s: an operator's config is not installed on a Pi: bedboard "
                            "set and status read it where they run" % device.where(
                                device.kind))
        elif device.kind == AGENT and device.settings.state_dir != STATE_DIR:
            problems.append("%s: must be %s under systemd, where the unit keeps the ward's "
                            "count (StateDirectory=bed-agent), got %s" % (
                                device.where("agent.state_dir"), STATE_DIR,
                                device.settings.state_dir))
        problems += self._secret_problems(device)
        problems += self._taken_files(device)
        if problems:
            raise ConfigError(problems)
        return device

    # -- what is ours ----------------------------------------------------------------
    def _place(self, path):
        """Why ``path`` (named by a config) is not one of install's own, or None."""
        if ".." in path.split("/") or os.path.normpath(path) != path:
            return "must be a plain absolute path (no .., no //, no trailing /), got %s" \
                % path
        if not path.startswith(ETC + "/"):
            return ("must be a file under %s, the folder bedboard install owns, got %s"
                    % (ETC, path))
        if not self._inside(self.at(path)):
            return ("%s leads out of %s%s (a symbolic link to %s): install writes only "
                    "its own files" % (path, ETC, " under --root" if self.root else "",
                                       os.path.realpath(self.at(path))))
        return None

    def _inside(self, target):
        """Whether ``target`` (a path on the system being installed) resolves into ETC there."""
        own = os.path.realpath(self.at(ETC))
        if self.root is not None:
            root = os.path.realpath(self.root)
            if own != os.path.join(root, ETC.lstrip("/")):
                return False
        return os.path.realpath(target).startswith(own + os.sep)

    def _checked(self, target):
        """``target``, once more checked to be ours just before it is changed."""
        if not self._inside(target):
            raise OpsError("refused to change %s: it leads out of %s (a symbolic link to "
                           "%s?)" % (target, self.at(ETC), os.path.realpath(target)))
        return target

    def _secret_problems(self, device):
        """A ``--secret`` named for another device (broker-config's ``secrets/ID``)."""
        problems = []
        path = device.files.get("broker.password_file")
        given = self.given.get("broker.password_file")
        if given and path:
            name = os.path.basename(given)
            try:
                check_device_id(name)
                # broker-config names each secret by its device's id, and a
                # hospital's ids share their first part (nrs-icu-unit-1,
                # nrs-lobby-1): such a name that is not this device's is
                # another's; a plain "secret" or "lobby-secret" is no one's.
                other = (name not in (device.id, os.path.basename(path))
                         and "-" in name
                         and name.split("-", 1)[0] == device.id.split("-", 1)[0])
            except ContractError:
                other = False
            if other:
                problems.append("--secret %s: named for device %s (broker-config's "
                                "secrets/%s), but this config is %s %s: give "
                                "secrets/%s" % (given, name, name, device.kind, device.id,
                                                device.id))
        return problems

    def _taken_files(self, device):
        """Secrets this config names that the other kind of device installed here holds.

        A ward agent and a lobby display on one Pi must not share a password
        file: the second install would overwrite the first one's password.
        """
        problems = []
        for kind, program in PROGRAMS.items():
            other_path = self.at(os.path.join(ETC, program["config"]))
            if kind == device.kind or not os.path.isfile(other_path):
                continue
            try:
                other = read_device(other_path, lambda key, path: None)
            except ConfigError:
                continue
            for key, path in sorted(device.files.items()):
                if FILES.get(key, (0, False))[1] and path in other.files.values():
                    problems.append(
                        "%s: %s is already a secret of %s %s (%s, installed here): give "
                        "this %s a file of its own%s" % (
                            device.where(key), path, kind, other.id,
                            os.path.join(ETC, program["config"]), device.kind,
                            ", e.g. %s/%s.secret" % (ETC, device.kind)
                            if key == "broker.password_file" else ""))
        return problems

    # -- the plan --------------------------------------------------------------------
    def _plan(self):
        kind = self.device.kind
        self._plan_user()
        with open(self.config, "rb") as handle:
            text = handle.read()
        self._plan_file(os.path.join(ETC, self.program["config"]), text, 0o644)
        for key, path in sorted(self.device.files.items()):
            mode, owned, _ = FILES[key]
            source = self.given.get(key)
            if source is not None:
                with open(source, "rb") as handle:
                    self._plan_file(path, handle.read(), mode, ours=True)
            else:
                self._plan_mode(path, mode)
            if owned:
                self._plan_owner(path)
        self._plan_unit()
        if kind == DISPLAY:
            self._plan_console_blanking()
        unit = self.program["unit"]
        self.steps.append(Step("systemctl daemon-reload, then restart %s (when something "
                               "changed, or it is not running)" % unit,
                               needed=lambda: self.changed or not self._active(unit),
                               do=lambda: self._systemctl(unit), live_only=True))

    def _plan_user(self):
        def missing():
            try:
                pwd.getpwnam(SERVICE_USER)
                return False
            except KeyError:
                return True
        self.steps.append(Step(
            "service user %s (system, no home, no login)" % SERVICE_USER, needed=missing,
            do=lambda: self._command(["useradd", "--system", "--no-create-home",
                                      "--home-dir", "/nonexistent", "--shell",
                                      "/usr/sbin/nologin", SERVICE_USER]),
            live_only=True))
        # Raspberry Pi OS has them all; plain Debian has no gpio group (and no render
        # or input without udev), and a unit naming a missing group fails with 216/GROUP.
        for group in self.program["groups"]:
            self.steps.append(Step(
                "group %s (system), for the unit's SupplementaryGroups=" % group,
                needed=lambda g=group: not _group_exists(g),
                do=lambda g=group: self._command(["groupadd", "--system", g]),
                live_only=True))

    def _plan_folder(self, path, mode):
        if path in self._folders:
            return
        self._folders.add(path)
        target = self.at(path)
        self.steps.append(Step("folder %s (mode %o)" % (path, mode),
                               needed=lambda: not os.path.isdir(target),
                               do=lambda: os.makedirs(target, mode=mode, exist_ok=True)))

    def _plan_file(self, path, data, mode, ours=False):
        self._plan_folder(os.path.dirname(path), 0o755)
        target = self.at(path)
        data = data.encode("utf-8") if isinstance(data, str) else data
        check = self._checked if ours else (lambda t: t)
        self.steps.append(Step("%s (mode %o)" % (path, mode),
                               needed=lambda: not same_file(target, data, mode),
                               do=lambda: write_file(check(target), data, mode)))

    def _plan_mode(self, path, mode):
        target = self.at(path)
        self.steps.append(Step(
            "%s: mode %o" % (path, mode),
            needed=lambda: (os.stat(target).st_mode & 0o7777) != mode,
            do=lambda: os.chmod(self._checked(target), mode)))

    def _plan_owner(self, path):
        target = self.at(path)

        def wrong_owner():
            try:
                return os.stat(target).st_uid != pwd.getpwnam(SERVICE_USER).pw_uid
            except (KeyError, OSError):
                return True

        def chown():
            user = pwd.getpwnam(SERVICE_USER)
            os.chown(self._checked(target), user.pw_uid, user.pw_gid,
                     follow_symlinks=False)
        self.steps.append(Step("%s: owned by %s" % (path, SERVICE_USER),
                               needed=wrong_owner, do=chown, live_only=True))

    def _plan_unit(self):
        unit = self.program["unit"]
        text = shipped_unit(unit)
        prefix = sys.prefix
        if os.path.isfile(os.path.join(prefix, "bin", self.program["program"])) \
                and prefix != TEMPLATE_PREFIX:
            text = text.replace(TEMPLATE_PREFIX + "/", prefix + "/")
            if prefix.startswith(("/home/", "/root/")):
                _LOG.warning("the unit runs %s from %s, which ProtectHome=yes hides from "
                             "it: install bedboard in /opt/bedboard", unit, prefix)
        path = os.path.join(UNITS, unit)
        self._plan_file(path, text, 0o644)
        wants = os.path.join(UNITS, "multi-user.target.wants", unit)
        self._plan_folder(os.path.dirname(wants), 0o755)

        link = self.at(wants)
        self.steps.append(Step(
            "enable %s (%s -> %s)" % (unit, wants, path),
            needed=lambda: not os.path.islink(link) or os.readlink(link) != path,
            do=lambda: _symlink(path, link)))

    def _plan_console_blanking(self):
        found = next((p for p in CMDLINES if os.path.isfile(self.at(p))), None)
        if found is None:
            self.steps.append(Step("console blanking off: no %s (not Raspberry Pi OS?)"
                                   % " or ".join(CMDLINES), needed=lambda: False,
                                   do=lambda: None))
            return
        target = self.at(found)
        with open(target, encoding="utf-8") as handle:
            line = handle.read().strip()
        words = [w for w in line.split() if not w.startswith("consoleblank=")]
        wanted = " ".join(words + ["consoleblank=0"]) + "\n"
        self._plan_file_text(found, target, wanted,
                             "console blanking off: consoleblank=0 in %s (from the next "
                             "boot)" % found)

    def _plan_file_text(self, path, target, text, what):
        mode = os.stat(target).st_mode & 0o7777
        data = text.encode("utf-8")
        self.steps.append(Step(what, needed=lambda: not same_file(target, data, mode),
                               do=lambda: write_file(target, data, mode)))

    # -- running system ----------------------------------------------------------
    def _command(self, argv):
        done = self.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise OpsError("%s failed: %s" % (" ".join(argv), (done.stderr or "").strip()
                                               or "exit status %d" % done.returncode))

    def _active(self, unit):
        done = self.run(["systemctl", "is-active", "--quiet", unit], capture_output=True,
                        check=False)
        return done.returncode == 0

    def _systemctl(self, unit):
        self._command(["systemctl", "daemon-reload"])
        self._command(["systemctl", "restart", unit])


def shipped_unit(unit):
    """The text of ``unit`` as the package ships it (package data: ops/systemd -> systemd/)."""
    return (importlib.resources.files(__package__) / "systemd" / unit).read_text(
        encoding="utf-8")


def _group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def _symlink(path, link):
    if os.path.islink(link) or os.path.exists(link):
        os.unlink(link)
    os.symlink(path, link)


def install(config, root=None, dry_run=False, secret=None, ca=None, uplink_token=None,
            run=subprocess.run, out=print):
    """Run ``bedboard install``; return the exit status."""
    if root is None and not dry_run and os.geteuid() != 0:
        raise OpsError("install changes the system: run it as root (sudo bedboard "
                       "install …), or with --root DIR or --dry-run")
    installer = Installer(config, root=root, secret=secret, ca=ca,
                          uplink_token=uplink_token, run=run)
    device = installer.device
    out("%s %s %s from %s%s" % ("would install" if dry_run else "installing", device.kind,
                                device.id, config,
                                " into %s" % installer.root if installer.root else ""))
    changed = 0
    for step in installer.steps:
        if step.live_only and installer.root:
            out("  skipped    %s: needs the running system, not --root" % step.what)
            continue
        if step.check:
            out("  %-9s  %s" % ("MISSING" if step.needed() else "ok", step.what))
            continue
        if not step.needed():
            out("  unchanged  %s" % step.what)
            continue
        if dry_run:
            out("  would do   %s" % step.what)
            continue
        step.do()
        changed += 1
        installer.changed = True
        out("  done       %s" % step.what)
    if not dry_run:
        out("%d step(s) changed something%s" % (changed, "" if changed else
                                                 ": already installed"))
    return 0
