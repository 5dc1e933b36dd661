"""The board's config: the contract's keys, our additions, and every mistake named at once."""

import datetime
import glob
import os
import textwrap

import pytest

from bedboard.errors import ConfigError
from display import config
from display.config import Label, NightDimming, TileSpec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(tmp_path, text, name="board.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "config", "demo", "*.yaml")))
                         + [os.path.join(ROOT, "config", "examples", "display.yaml")])
def test_the_shipped_configs_are_valid(path):
    settings = config.read(path)
    assert settings.display.id
    assert settings.board.tiles


def test_spec_example_and_defaults(tmp_path):
    path = write(tmp_path, """\
        display:
          id: nrs-lobby-1
          title: {en: "NRS Medical College & Hospital", bn: "নীলরতন সরকার মেডিকেল কলেজ ও হাসপাতাল"}
          size: [1920, 1080]
          rotate: 0
        board:
          hospital: nrs
          tiles:
            - department: medicine
              label: {en: Medicine, bn: মেডিসিন}
            - department: surgery
              wards: [male-1, male-2]
              label: {en: Surgery (Male), bn: সার্জারি (পুরুষ)}
            - hospital: sskm
              department: cardiology
              label: {en: SSKM Cardiology}
        """)
    settings = config.read(path)
    display, board = settings.display, settings.board
    assert display.size == (1920, 1080) and display.rotate == 0
    assert display.title.bn == "নীলরতন সরকার মেডিকেল কলেজ ও হাসপাতাল"
    assert display.timezone == "Asia/Kolkata" and display.languages == ("en", "bn")
    assert not display.bengali_numerals and display.message is None and display.night is None
    assert display.burn_in.pixels == 4
    assert board.tiles == (
        TileSpec("nrs", "medicine", None, Label("Medicine", "মেডিসিন")),
        TileSpec("nrs", "surgery", ("male-1", "male-2"), Label("Surgery (Male)",
                                                               "সার্জারি (পুরুষ)")),
        TileSpec("sskm", "cardiology", None, Label("SSKM Cardiology")))
    assert (board.stale_after, board.few_left, board.page_seconds) == (180, 3, 10)


def test_our_additions(tmp_path):
    path = write(tmp_path, """\
        display:
          id: nrs-lobby-1
          title: {bn: এনআরএস}
          timezone: Asia/Dhaka
          languages: [bn]
          bengali_numerals: true
          message: {en: "Bed enquiries: 033 2286 0033", bn: "শয্যার খোঁজ: ০৩৩ ২২৮৬ ০০৩৩"}
          night: {from: 23:00, to: "06:30", brightness: 0.4}
          burn_in: {pixels: 6, minutes: 10}
        board:
          hospital: nrs
          stale_after: 90
          few_left: 5
          highlight_seconds: 600
          page_seconds: 15
        """)
    settings = config.read(path)
    display = settings.display
    assert display.title == Label(bn="এনআরএস")
    assert display.languages == ("bn",) and display.bengali_numerals
    assert display.message.en.startswith("Bed enquiries")
    assert display.night == NightDimming(datetime.time(23, 0), datetime.time(6, 30), 0.4)
    assert display.night.active(datetime.time(1, 0)) and not display.night.active(
        datetime.time(12, 0))
    assert settings.board.tiles is None
    assert (settings.board.stale_after, settings.board.few_left) == (90, 5)


def test_every_mistake_is_named_by_file_line_and_key_at_once(tmp_path):
    path = write(tmp_path, """\
        display:
          id: Lobby 1
          rotate: 45
          size: [1920]
          timezone: Mars/Olympus
          languages: [en, fr]
          night: {from: "25:00", to: "06:00"}
          colour: blue
        board:
          hospital: nrs
          stale_after: -1
          tiles:
            - department: Medicine
              wards: [male, male]
            - label: {en: Surgery, de: Chirurgie}
        """)
    with pytest.raises(ConfigError) as caught:
        config.read(path)
    assert caught.value.problems == [
        "board.yaml:2: display.id: device id must match ^[a-z0-9][a-z0-9-]{0,63}$, "
        "got 'Lobby 1'",
        "board.yaml:3: display.rotate: must be one of 0, 90, 180, 270, got 45",
        "board.yaml:4: display.size: must be [width, height] in pixels, got [1920]",
        "board.yaml:5: display.timezone: unknown time zone 'Mars/Olympus' "
        "(e.g. Asia/Kolkata)",
        "board.yaml:6: display.languages[1]: must be one of bn, en, hi, ur, ne, sat, or, pa, got 'fr'",
        "board.yaml:7: display.night.from: must be a time of day like \"23:00\", "
        "got '25:00'",
        "board.yaml:8: display.colour: unknown key (a typo?)",
        "board.yaml:11: board.stale_after: must be between 10 and 86400, got -1",
        "board.yaml:13: board.tiles[0].department: department must match "
        "^[a-z0-9][a-z0-9-]{0,31}$, got 'Medicine'",
        "board.yaml:14: board.tiles[0].wards[1]: ward male is given twice",
        "board.yaml:15: board.tiles[1].department: is required",
        "board.yaml:15: board.tiles[1].label.de: unknown key (a typo?)",
    ]


def test_missing_sections_are_named(tmp_path):
    path = write(tmp_path, "broker: {host: 127.0.0.1}\n")
    with pytest.raises(ConfigError) as caught:
        config.read(path)
    assert caught.value.problems == ["board.yaml:1: display: is required",
                                     "board.yaml:1: board: is required"]


def test_a_tile_without_a_label_gets_its_department_s_name(tmp_path):
    path = write(tmp_path, """\
        display: {id: lobby}
        board:
          hospital: nrs
          tiles: [{department: icu}, {department: burns-unit}]
        """)
    tiles = config.read(path).board.tiles
    assert tiles[0].label.lines(("en", "bn", "hi")) == [
        ("en", "ICU"), ("bn", "আইসিইউ"), ("hi", "आईसीयू")]
    assert tiles[1].label == Label("Burns Unit")
