"""Whether the wall clock may be shown: the kernel's maxerror, an operator's word, failures."""

import sys
from datetime import datetime, timezone

import pytest

from bedboard import timesync
from bedboard.timesync import KernelClock, is_synchronised, synchronised

SYNCED = KernelClock(state=0, status=0x2001, maxerror=12_345)           # timesyncd, just now
CHRONY = KernelClock(state=5, status=0x0041, maxerror=9_776)            # chrony without rtcsync
LAPSED = KernelClock(state=5, status=0x0041, maxerror=16_000_000)       # server gone ~9 h
NEVER = KernelClock(state=5, status=0x0040, maxerror=16_000_000)        # from a file at boot


def test_a_clock_a_time_server_set_recently_is_synchronised():
    assert is_synchronised(SYNCED)
    assert synchronised(lambda: SYNCED, environ={})


def test_chrony_without_rtcsync_counts_by_its_maxerror_not_the_unsync_bit():
    assert CHRONY.status & timesync.STA_UNSYNC
    assert is_synchronised(CHRONY)


def test_a_clock_restored_at_boot_or_left_alone_for_hours_is_not():
    assert not is_synchronised(NEVER)
    assert not is_synchronised(LAPSED)
    assert not synchronised(lambda: NEVER, environ={})


def test_when_the_kernel_cannot_be_asked_the_clock_is_not_trusted():
    assert not is_synchronised(None)
    assert not synchronised(lambda: None, environ={})

    def broken():
        raise OSError(5, "Input/output error")
    assert not synchronised(broken, environ={})


def test_an_operator_may_vouch_for_a_clock_kept_by_a_battery_rtc():
    assert synchronised(lambda: NEVER, environ={"BEDBOARD_TRUST_CLOCK": "1"})
    assert not synchronised(lambda: NEVER, environ={"BEDBOARD_TRUST_CLOCK": "0"})
    assert not synchronised(lambda: NEVER, environ={"BEDBOARD_TRUST_CLOCK": ""})


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="adjtimex is Linux's")
def test_the_kernel_answers_with_plausible_figures():
    clock = timesync.kernel_clock()
    assert clock is not None
    assert 0 <= clock.state <= timesync.TIME_ERROR
    assert 0 <= clock.maxerror <= timesync.NTP_PHASE_LIMIT_US
    assert synchronised(environ={}) == is_synchronised(clock) or clock.maxerror > 15_000_000


# -- the board asks, every few seconds, and shows the time only when told yes -----

BOARD_YAML = """\
display:
  id: test-lobby
  title: {en: "Test Hospital", bn: "পরীক্ষা হাসপাতাল"}
  size: [1280, 720]
  burn_in: {pixels: 0}
board:
  hospital: nrs
  tiles:
    - {department: icu, label: {en: ICU, bn: আইসিইউ}}
"""


class _NoLink:
    def __init__(self, *args, **kwargs):
        pass

    def start(self):
        pass

    def stop(self):
        pass


def test_the_board_shows_the_time_only_while_the_clock_is_synchronised(tmp_path):
    import pygame                                   # pylint: disable=import-outside-toplevel
    from display import config                      # pylint: disable=import-outside-toplevel
    from display.app import CLOCK_CHECK, BoardApp   # pylint: disable=import-outside-toplevel

    path = tmp_path / "board.yaml"
    path.write_text(BOARD_YAML, encoding="utf-8")
    now = {"mono": 100.0}
    answers = {"synced": False, "asked": 0}

    def synced():
        answers["asked"] += 1
        return answers["synced"]

    app = BoardApp(config.read(str(path)), clock=lambda: now["mono"],
                   wall_clock=lambda: datetime(2026, 11, 25, 12, 30, tzinfo=timezone.utc),
                   link_factory=_NoLink, clock_synced=synced)

    def clock_shown():
        return [d.phrase for r in app.renderer.report() if r.part in ("clock", "date")
                for d in r.texts]
    try:
        surface = pygame.Surface((1280, 720))
        app.draw(surface, full=True)
        assert clock_shown() == []                  # not synchronised: no time at all
        answers["synced"] = True
        for _ in range(10):                         # a frame a tenth of a second
            now["mono"] += 0.1
            app.draw(surface)
        assert answers["asked"] == 1 and clock_shown() == []     # asked once so far
        now["mono"] += CLOCK_CHECK
        app.draw(surface)
        assert answers["asked"] == 2
        assert sorted(clock_shown()) == ["18:00:00", "Wed 25 Nov 2026", "বুধবার, 25 নভেম্বর 2026"]
        answers["synced"] = False
        now["mono"] += CLOCK_CHECK
        app.draw(surface)
        assert clock_shown() == []
    finally:
        app.close()
