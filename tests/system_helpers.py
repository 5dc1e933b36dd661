"""A Debian bookworm machine booted with systemd as PID 1, for the appliance's tests.

* :func:`debian_root` — a minimal bookworm root (``debootstrap --variant=minbase``)
  with systemd and the Debian packages docs/install.md installs, built once per
  architecture and package list into ``~/.cache/bedboard/roots/`` (``BEDBOARD_CACHE``
  moves it) and shared by every later run, read-only.  arm64 runs under
  qemu-user-static through binfmt_misc.
* :class:`Machine` — that root booted in ``systemd-nspawn`` on an overlay of its
  own (the cached root stays as it was built), on a private network (its
  Mosquitto never meets the host's on 1883), entered with ``nsenter``; it can
  be powered off and booted again on the same disk, optionally with a
  volatile root.  :meth:`Machine.close` leaves nothing behind: no container,
  no mount, no folder.
* :func:`wheelhouse` — ``scripts/wheelhouse``, as docs/install.md runs it.
"""

import ctypes
import fcntl
import glob
import hashlib
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITE = "bookworm"
# What every real Debian or Raspberry Pi OS system has, and a minbase root lacks:
# systemd as init, D-Bus (systemctl, systemd-analyze security), udev (which also
# makes the input and render groups) and sudo (the docs' commands use it).
BASE_PACKAGES = ("systemd", "systemd-sysv", "dbus", "udev", "sudo")
ROOT_RECIPE = 1            # raise to rebuild every cached root
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEBIAN_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
OWNER = "owner"            # in a machine's folder: "PID NAME" of the test process that made it

_LOG = logging.getLogger(__name__)


def cache_dir(*parts):
    """A folder under bedboard's cache (``~/.cache/bedboard``)."""
    base = os.environ.get("BEDBOARD_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "bedboard")
    return os.path.join(base, *parts)


def offline_pip_env():
    """The environment for a pip that may use no index: only --find-links."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def wheelhouse(out, arch="x86_64"):
    """``scripts/wheelhouse --arch ARCH --out OUT``, as docs/install.md runs it; ``out``."""
    done = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "wheelhouse"),
                           "--arch", arch, "--out", out],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


# -- the root ---------------------------------------------------------------------

def debian_mirror():
    """The Debian mirror this machine's apt uses (``BEDBOARD_DEBIAN_MIRROR`` overrides)."""
    if os.environ.get("BEDBOARD_DEBIAN_MIRROR"):
        return os.environ["BEDBOARD_DEBIAN_MIRROR"]
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*")):
        if not path.endswith((".list", ".sources")):
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            continue
        found = re.search(r"^(?:URIs:|deb)\s+(?:\[[^\]]*\]\s+)?(\S+/debian)/?\s*$", text,
                          re.MULTILINE)
        if found:
            return found.group(1)
    return "http://deb.debian.org/debian"


def enable_emulation(arch):
    """binfmt_misc and qemu-user-static ready to run ``arch`` binaries (not this machine's)."""
    if arch == os.uname().machine:
        return
    if not os.path.exists("/proc/sys/fs/binfmt_misc/register"):
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc",
                        "/proc/sys/fs/binfmt_misc"], check=True, capture_output=True)
    entry = "/proc/sys/fs/binfmt_misc/qemu-%s" % arch
    if not os.path.exists(entry) or "enabled" not in open(entry, encoding="ascii").read():
        subprocess.run(["update-binfmts", "--enable", "qemu-%s" % arch], check=True,
                       capture_output=True)
    assert "enabled" in open(entry, encoding="ascii").read(), \
        "%s: qemu-user-static's binfmt entry is not enabled" % entry


def debian_root(arch, packages, log=print):
    """A bookworm root for ``arch`` with ``packages`` (and BASE_PACKAGES): built once, cached.

    Returns ``(path, built)``: ``built`` says whether this call built it.
    Building takes a lock, so that two test runs on one machine build it
    once; a failed build leaves nothing.
    """
    enable_emulation(arch)
    wanted = sorted(set(BASE_PACKAGES) | set(packages))
    key = hashlib.sha256(("%s %s %d %s" % (SUITE, arch, ROOT_RECIPE, " ".join(wanted)))
                         .encode()).hexdigest()[:12]
    roots = cache_dir("roots")
    path = os.path.join(roots, "%s-%s-%s" % (SUITE, DEBIAN_ARCH[arch], key))
    if os.path.isfile(os.path.join(path, "etc", "os-release")):
        return path, False
    os.makedirs(roots, exist_ok=True)
    with open(os.path.join(roots, ".%s.lock" % arch), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.isfile(os.path.join(path, "etc", "os-release")):
            return path, False
        partial = tempfile.mkdtemp(prefix=".partial-", dir=roots)
        try:
            command = ["debootstrap", "--variant=minbase", "--arch=%s" % DEBIAN_ARCH[arch],
                       "--include=%s" % ",".join(wanted), SUITE, partial, debian_mirror()]
            log("building the %s root (once; cached in %s): %s"
                % (arch, path, " ".join(command)))
            started = time.monotonic()
            done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
            if done.returncode != 0:
                raise AssertionError("debootstrap failed:\n%s" % (
                    done.stdout[-3000:] + done.stderr[-3000:]))
            for deb in glob.glob(os.path.join(partial, "var/cache/apt/archives/*.deb")):
                os.unlink(deb)
            os.rename(partial, path)
            log("built the %s root in %.0f s" % (arch, time.monotonic() - started))
        finally:
            if os.path.isdir(partial):
                _unmount_below(partial)
                shutil.rmtree(partial, ignore_errors=True)
    return path, True


def _mounts_below(path):
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        points = [line.split()[4].replace("\\040", " ") for line in handle]
    return sorted((p for p in points if p == path or p.startswith(path + "/")),
                  key=len, reverse=True)


def _unmount_below(path):
    for point in _mounts_below(path):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


# -- the machine ----------------------------------------------------------------

class Machine:
    """A root booted by systemd-nspawn on an overlay of its own; see the module docstring."""

    def __init__(self, lower, workdir, name, log=print):
        self.lower = lower
        self.workdir = workdir
        self.name = name
        self.log = log
        self.merged = os.path.join(workdir, "root")
        self.process = None
        self.pid1 = None
        self.boots = 0
        sweep_abandoned()
        for folder in ("upper", "work", "root"):
            os.makedirs(os.path.join(workdir, folder), exist_ok=True)
        with open(os.path.join(workdir, OWNER), "w", encoding="ascii") as handle:
            handle.write("%d %s\n" % (os.getpid(), name))
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        "lowerdir=%s,upperdir=%s,workdir=%s" % (
                            lower, os.path.join(workdir, "upper"),
                            os.path.join(workdir, "work")), self.merged],
                       check=True, capture_output=True)
        # As Debian's installer leaves it: the machine's name, and that name in
        # /etc/hosts (debootstrap copied this host's /etc/hostname).
        with open(self.path("/etc/hostname"), "w", encoding="ascii") as handle:
            handle.write(name + "\n")
        with open(self.path("/etc/hosts"), "w", encoding="ascii") as handle:
            handle.write("127.0.0.1\tlocalhost\n127.0.1.1\t%s\n" % name)

    def path(self, inside):
        """The host's path of ``inside`` (a path in the machine), while it is not booted
        volatile."""
        return os.path.join(self.merged, inside.lstrip("/"))

    # -- power ------------------------------------------------------------------
    def boot(self, timeout=300, volatile=False, binds=(), options=()):
        """Boot the machine and wait until systemd says it is up; the seconds it took.

        ``volatile``: the root read-only, its writes in memory and gone at power-off
        (``--volatile=overlay``); ``binds``: (host path, path inside) pairs, the
        machine's other disks; ``options``: more of systemd-nspawn's.
        """
        assert self.process is None, "already running"
        self.boots += 1
        console = open(os.path.join(self.workdir, "console-%d.log" % self.boots), "wb")
        command = ["systemd-nspawn", "--quiet", "--directory", self.merged, "--boot",
                   "--register=no", "--keep-unit", "--private-network",
                   "--machine", self.name, "--console=read-only"]
        if volatile:
            command.append("--volatile=overlay")
        command += ["--bind=%s:%s" % pair for pair in binds] + list(options)
        started = time.monotonic()
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=console,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        preexec_fn=_halt_with_parent)
        console.close()
        self.pid1 = self._wait_for_init(started + 60)
        bus = "/proc/%d/root/run/systemd/private" % self.pid1
        while not os.path.exists(bus) and time.monotonic() < started + 60:
            time.sleep(0.05)
        state = self.run("systemctl is-system-running --wait",
                         timeout=max(started + timeout - time.monotonic(), 1),
                         check=False).stdout.strip()
        assert state in ("running", "degraded"), "%s booted %r:\n%s" % (
            self.name, state, self.run("systemctl --failed --no-pager", check=False).stdout)
        return time.monotonic() - started

    def _wait_for_init(self, deadline):
        """The PID (on the host) of the container's systemd, the child of systemd-nspawn."""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("systemd-nspawn exited with %s:\n%s" % (
                    self.process.returncode, self.console()))
            for child in _children(self.process.pid):
                try:
                    with open("/proc/%d/comm" % child, encoding="utf-8") as handle:
                        if handle.read().strip() == "systemd":
                            return child
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError("no systemd in the container after 60 s:\n" + self.console())

    def poweroff(self, timeout=120):
        """``systemctl poweroff`` inside, and wait until the container is gone."""
        if self.run("systemctl poweroff", check=False, timeout=30).returncode != 0:
            self.process.terminate()        # nspawn asks the container's systemd to halt
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s did not power off within %d s:\n%s" % (
                self.name, timeout, self.console())) from None
        finally:
            self._gone()

    def _gone(self):
        """After the container: nothing of it left on the host."""
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=30)
        self.process = None
        self.pid1 = None
        # nspawn leaves its propagation folder when /run is not a tmpfs, and the
        # lock of a root it booted read-only.
        shutil.rmtree("/run/systemd/nspawn/propagate/%s" % self.name, ignore_errors=True)
        try:
            info = os.stat(self.merged)
            os.unlink("/run/systemd/nspawn/locks/inode-%d:%d" % (info.st_dev, info.st_ino))
        except OSError:
            pass

    def close(self):
        """Stop the container if it runs, unmount everything, delete the work folder."""
        try:
            if self.process is not None and self.process.poll() is None:
                try:
                    self.poweroff(timeout=30)
                except Exception as exc:  # noqa: BLE001 - killed below
                    self.log("%s: %s — killing it" % (self.name, str(exc).splitlines()[0]))
        finally:
            self._gone()
            _unmount_below(self.workdir)
            left = _mounts_below(self.workdir)
            assert not left, "still mounted: %s" % left
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- inside ---------------------------------------------------------------------
    def run(self, script, check=True, timeout=120, cwd="/root", stdin=None):
        """Run ``script`` with bash as root inside the machine, with a clean environment."""
        assert self.pid1, "%s is not running" % self.name
        command = ["nsenter", "--target", str(self.pid1), "--all", "env", "-i",
                   "PATH=" + PATH, "HOME=/root", "LANG=C.UTF-8", "TERM=dumb",
                   "SYSTEMD_PAGER=", "bash", "-c", "cd %s && %s" % (cwd, script)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              input=stdin)
        if check and done.returncode != 0:
            raise AssertionError("in %s, %r exited %d:\n%s%s" % (
                self.name, script, done.returncode, done.stdout[-4000:],
                done.stderr[-4000:]))
        return done

    def show(self, unit, prop):
        """``systemctl show -P PROP UNIT``."""
        return self.run("systemctl show -P %s %s" % (prop, unit)).stdout.strip()

    def console(self):
        """The end of the console log of the latest boot."""
        path = os.path.join(self.workdir, "console-%d.log" % self.boots)
        try:
            with open(path, "rb") as handle:
                return handle.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            return ""


def sweep_abandoned():
    """Unmount and delete the machines of test runs that died without closing them.

    A machine's folder names the process that made it; its container went with
    that process (see :func:`_halt_with_parent`), its overlay did not.
    """
    roots = cache_dir("roots")
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        mounts = [line.split() for line in handle]
    for fields in mounts:
        point, options = fields[4], fields[-1]
        if "lowerdir=%s/" % roots not in options or os.path.basename(point) != "root":
            continue
        workdir = os.path.dirname(point)
        try:
            with open(os.path.join(workdir, OWNER), encoding="ascii") as handle:
                owner, name = handle.read().split()
            os.kill(int(owner), 0)
            continue                         # its test run is alive
        except ProcessLookupError:
            pass
        except (OSError, ValueError):
            continue                         # not one of ours
        _unmount_below(workdir)
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree("/run/systemd/nspawn/propagate/%s" % name, ignore_errors=True)


def _halt_with_parent():
    """In systemd-nspawn before it starts: SIGTERM (nspawn halts its container) when
    the test process dies without closing the machine."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)          # PR_SET_PDEATHSIG


def _children(pid):
    found = []
    for task in glob.glob("/proc/%d/task/*/children" % pid):
        try:
            with open(task, encoding="ascii") as handle:
                found += [int(p) for p in handle.read().split()]
        except OSError:
            pass
    return found
