"""Whether the wall clock may be shown: the kernel's own word on time synchronisation.

A Raspberry Pi has no battery-backed clock (a Pi 5 only with an added
battery), and a hospital LAN may have no time server: after a power cut the
system clock starts from whatever was last saved to disk, hours or years off.
The board times everything that matters by the monotonic clock; the *wall*
clock is only shown — and a wrong one makes every figure on the wall look
doubtful.  So the board shows the time only while the system says it is
synchronised.

Which signal, and why:

* **The kernel's maximum error** (``adjtimex(2)``'s ``maxerror``, in µs).
  Whatever NTP client disciplines the clock — systemd-timesyncd, Raspberry Pi
  OS's default, or chrony, or ntpd — sets it at each update; the kernel adds
  500 µs to it every second, and at 16 s (``NTP_PHASE_LIMIT``) the clock
  counts as unsynchronised again.  A clock set by hand (``date -s``),
  restored at boot from a file (fake-hwclock, timesyncd's own saved
  timestamp) or read from an RTC starts at 16 s.  So ``maxerror < 16 s``
  means: a time server set this clock, and did so within the last few hours
  — and it lapses by itself when the server goes away.  It is what
  ``timedatectl``'s "System clock synchronized" reads since systemd 243
  (systemd PR #13245).
* **Not the ``STA_UNSYNC`` bit alone**: chrony leaves it set unless it is
  configured with ``rtcsync`` (it keeps the kernel from writing the RTC), so a
  Pi synchronised by chrony would never show its clock (same PR).
* **Not ``/run/systemd/timesync/synchronized``**: only timesyncd writes it,
  and once written it stays until reboot (systemd issue #23419) — a Pi whose
  time server went away last week would still claim it; under chrony it
  never exists.

Where the kernel cannot be asked (not Linux), the clock is not trusted.  A
Pi whose clock is kept right by other means — a battery-backed RTC and no
time server — can say so with ``BEDBOARD_TRUST_CLOCK=1`` in the service's
environment.
"""

import ctypes
import ctypes.util
import logging
import os
from dataclasses import dataclass

_LOG = logging.getLogger(__name__)

NTP_PHASE_LIMIT_US = 16_000_000      # the kernel's ceiling for maxerror: unsynchronised
TIME_ERROR = 5                       # adjtimex's return when the clock is not synchronised
STA_UNSYNC = 0x0040
TRUST_VARIABLE = "BEDBOARD_TRUST_CLOCK"


@dataclass(frozen=True)
class KernelClock:
    """What ``adjtimex(2)`` says about the system clock (read only, nothing set)."""

    state: int          # TIME_OK (0) … TIME_ERROR (5)
    status: int         # STA_* bits
    maxerror: int       # microseconds


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """glibc's ``struct timex`` for the plain ``adjtimex`` symbol (C longs)."""

    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long),
                ("freq", ctypes.c_long), ("maxerror", ctypes.c_long),
                ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long),
                ("tolerance", ctypes.c_long), ("time", _Timeval),
                ("tick", ctypes.c_long), ("ppsfreq", ctypes.c_long),
                ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
                ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long),
                ("calcnt", ctypes.c_long), ("errcnt", ctypes.c_long),
                ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
                ("_reserved", ctypes.c_int * 16)]


_ADJTIMEX = []          # the libc function, looked up once ([None] when there is none)


def _adjtimex():
    if not _ADJTIMEX:
        function = None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            function = libc.adjtimex
            function.argtypes = [ctypes.POINTER(_Timex)]
            function.restype = ctypes.c_int
        except (OSError, AttributeError) as exc:
            _LOG.info("cannot ask the kernel whether the clock is synchronised (%s): "
                      "the board leaves the time out", exc)
        _ADJTIMEX.append(function)
    return _ADJTIMEX[0]


def kernel_clock():
    """The kernel's clock status (``modes = 0``: a pure read), or None if unavailable."""
    function = _adjtimex()
    if function is None:
        return None
    timex = _Timex()
    state = function(ctypes.byref(timex))
    if state < 0:
        _LOG.debug("adjtimex failed: errno %d", ctypes.get_errno())
        return None
    return KernelClock(state=state, status=timex.status, maxerror=timex.maxerror)


def is_synchronised(clock):
    """Whether ``clock`` (a KernelClock, or None) is synchronised: maxerror under 16 s."""
    return clock is not None and 0 <= clock.maxerror < NTP_PHASE_LIMIT_US


def trusted_by_operator(environ=None):
    """Whether the operator said the clock is right (``BEDBOARD_TRUST_CLOCK=1``)."""
    value = (os.environ if environ is None else environ).get(TRUST_VARIABLE, "")
    return value.strip().lower() in ("1", "yes", "true")


def synchronised(source=kernel_clock, environ=None):
    """Whether the wall clock is right enough to show (see the module docstring)."""
    if trusted_by_operator(environ):
        return True
    try:
        return is_synchronised(source())
    except OSError as exc:      # a source that reads files may fail; never fatal
        _LOG.debug("clock status unknown: %s", exc)
        return False
