"""The board's eight languages: tables, digits, right-to-left lines, fonts, config, turns.

Right-to-left is the case that breaks naive code: an Urdu line with numbers
and Latin names in it, drawn by HarfBuzz as one right-to-left run, comes out
with "12" as "21" and "ICU" as "UCI".  These tests pin the runs the line is
cut into, their order on the screen and their fonts; the OCR tests
(tests/test_display_ocr.py) read the drawn pictures back.
"""

import re
import string
import subprocess
import sys
import textwrap

import pygame
import pytest

from bedboard.errors import ConfigError
from display import bidi, config, languages, phrases
from display.board import Status
from display.config import BurnIn, DisplaySettings, Label
from display.fonts import FontBook
from display.render import Renderer
from display.samples import TITLE, view
from display.text import TextPainter
from display.turns import groups
from display.words import Words

URDU_LINE = "بستر 12 ICU وارڈ"          # "bed 12 ICU ward", logically


@pytest.fixture(scope="module")
def painter():
    pygame.font.init()
    return TextPainter(FontBook())


# -- the phrase tables ---------------------------------------------------------------

def _fields(text):
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name)


def test_every_language_has_every_phrase_with_the_same_blanks_and_a_note():
    english = phrases.entries("en")
    assert len(english) > 50
    for status in Status:
        assert status.value in english, status
    for code in languages.CODES:
        table = phrases.entries(code)
        assert set(table) == set(english), (code, set(english) ^ set(table))
        for key, entry in table.items():
            text, source = entry["text"], english[key]["text"]
            assert entry["where"] and isinstance(entry["checked"], bool), (code, key)
            if isinstance(source, list):
                assert len(text) == len(source) and all(text), (code, key)
            else:
                # the same blanks ({n}, {m}, ...); a banner may leave its duration out
                assert text.strip() and set(_fields(text)) <= set(_fields(source)), \
                    (code, key, text)
                dropped = set(_fields(source)) - set(_fields(text))
                assert not dropped or (dropped == {"d"} and key.startswith("banner-lost")), \
                    (code, key, text)


def test_no_translation_claims_a_check_no_one_made():
    # every string but the English source is marked unchecked until a reader signs it off
    for code in languages.CODES:
        if code != "en":
            assert phrases.unchecked(code) == sorted(phrases.entries(code)), code
    with open("README.md", encoding="utf-8") as readme:
        text = readme.read()
    assert "checked: false" in text and "fluent reader" in text


def test_each_language_s_text_is_in_its_own_script():
    for code in languages.CODES:
        if code == "en":
            continue
        script = languages.language(code).script
        for key, text in phrases.table(code).items():
            letters = [c for c in re.sub(r"\{\w+\}", "", "".join(
                text if isinstance(text, list) else [text])) if c.isalpha()]
            own = [c for c in letters if languages.script_of(c) is script]
            assert len(own) >= 0.8 * len(letters), (code, key, text)


# -- digits ----------------------------------------------------------------------------

def test_native_numerals_are_each_language_s_own_and_urdu_s_are_extended_arabic_indic():
    words = Words(languages.CODES, numerals="native")
    shown = dict(words.each("of-beds", n=1234567890))
    assert "১২৩৪৫৬৭৮৯০" in shown["bn"] and "1234567890" in shown["en"]
    assert "१२३४५६७८९०" in shown["hi"] and "१२३४५६७८९०" in shown["ne"]
    assert "۱۲۳۴۵۶۷۸۹۰" in shown["ur"]             # U+06F1..: Urdu's, not Arabic's U+0661..
    assert "᱑᱒᱓᱔᱕᱖᱗᱘᱙᱐" in shown["sat"] and "୧୨୩୪୫୬୭୮୯୦" in shown["or"]
    assert "੧੨੩੪੫੬੭੮੯੦" in shown["pa"]
    assert not re.search("[\u0660-\u0669]", shown["ur"])
    assert words.figure(42) == "৪২"                       # the primary's digits


def test_latin_numerals_by_default_and_bengali_numerals_as_before():
    assert dict(Words(("bn", "hi", "ur")).each("occupied", n=31)) == {
        "bn": "ভর্তি 31", "hi": "भर्ती 31", "ur": "31 زیرِ علاج"}
    old = Words(bengali_numerals=True)
    assert old.languages == ("en", "bn")
    assert old.say("occupied", "bn", n=31) == "ভর্তি ৩১" and old.figure(120) == "১২০"
    assert old.say("occupied", "en", n=31) == "31 occupied"


def test_dates_in_every_language(painter):
    from display.samples import LOCAL
    words = Words(languages.CODES, numerals="native")
    dates = {code: words.date(code, LOCAL) for code in languages.CODES}
    assert dates["en"] == "Wed 25 Nov 2026"
    assert dates["bn"] == "বুধবার, ২৫ নভেম্বর ২০২৬"
    assert dates["hi"] == "बुधवार, २५ नवंबर २०२६"
    assert dates["ur"] == "بدھ، ۲۵ نومبر ۲۰۲۶"


# -- right to left ---------------------------------------------------------------------

def test_naive_right_to_left_shaping_reverses_numbers_which_is_why_lines_are_split(painter):
    font = painter.fonts.font("latin", True, 40)
    font.set_direction(pygame.DIRECTION_RTL)
    naive = font.render("12", True, (0, 0, 0), (255, 255, 255))
    font.set_direction(pygame.DIRECTION_LTR)
    twelve = font.render("12", True, (0, 0, 0), (255, 255, 255))
    twenty_one = font.render("21", True, (0, 0, 0), (255, 255, 255))
    assert _same(naive, twenty_one) and not _same(naive, twelve)
    # ours: the digits of an RTL line are an LTR run, drawn as 12
    assert ("12", False) in bidi.runs(URDU_LINE, True)


def _same(one, other):
    return one.get_size() == other.get_size() and all(
        one.get_at((x, y)) == other.get_at((x, y))
        for x in range(one.get_width()) for y in range(one.get_height()))


def test_an_urdu_line_with_numbers_and_latin_reads_right_to_left_with_them_whole():
    # read from the right: بستر, 12, ICU, وارڈ — so from the left: وارڈ ICU 12 بستر
    assert bidi.runs(URDU_LINE, True) == [
        (" وارڈ", True), ("ICU", False), (" ", True), ("12", False), ("بستر ", True)]
    assert bidi.visual(URDU_LINE, True) == "ڈراو ICU 12 رتسب"
    # numbers stay whole and in order with their separators: 2/3, 1,000
    assert ("2/3", False) in bidi.runs("صفحہ 2/3", True)
    assert ("1,000", False) in bidi.runs("کل 1,000 بستر", True)
    # Latin with a number after it is one run: "ICU 12"
    assert ("ICU 12", False) in bidi.runs("وارڈ ICU 12", True)
    # a left-to-right line is one run, untouched
    assert bidi.runs("Medicine (Male) 12", None) == [("Medicine (Male) 12", False)]
    assert bidi.base_rtl(URDU_LINE) and not bidi.base_rtl("ICU وارڈ")


def test_each_run_gets_a_font_that_has_its_glyphs(painter):
    pieces = painter.pieces(URDU_LINE, True)
    assert [(script, text) for script, text, _ in pieces] == [
        ("nastaliq", " وارڈ"), ("latin", "ICU"), ("nastaliq", " "), ("nastaliq", "12"),
        ("nastaliq", "بستر ")]
    assert not painter.fonts.covers("nastaliq", "I")          # no Latin in Nastaliq
    assert not painter.fonts.covers("devanagari", "·")        # no middle dot in Devanagari
    scripts = [script for script, _ in painter.runs("मेडिसिन · Medicine")]
    assert scripts == ["devanagari", "latin"]
    assert [s for s, _ in painter.runs("ᱢᱮᱰᱤᱥᱤᱱ · ମେଡିସିନ · ਮੈਡੀਸਨ")] == [
        "olchiki", "latin", "odia", "latin", "gurmukhi"]
    for text in ("मेडिसिन · Medicine", URDU_LINE, "ᱢᱮᱰᱤᱥᱤᱱ"):
        image = painter.render(text, 30, (0, 0, 0), (255, 255, 255), True)
        assert image.get_width() == painter.width(text, 30, True)


def test_an_urdu_line_is_drawn_in_its_visual_order(painter):
    # each piece drawn alone, side by side, is the line: the 12 right of ICU
    image = painter.render(URDU_LINE, 40, (0, 0, 0), (255, 255, 255), True, rtl=True)
    x = 0
    for script, text, backwards in painter.pieces(URDU_LINE, True):
        alone = painter._font(script, True, 40, backwards).render(text, True, (0, 0, 0))
        if text == "12":
            assert x > [w for w in _lefts(painter, URDU_LINE) if w[0] == "ICU"][0][1]
        x += alone.get_width()
    assert x == image.get_width()


def _lefts(painter, text):
    x, found = 0, []
    for script, part, backwards in painter.pieces(text, True):
        found.append((part, x))
        x += painter._font(script, True, 40, backwards).size(part)[0]
    return found


def test_right_to_left_rows_are_aligned_right(painter):
    display = DisplaySettings(id="lobby", title=TITLE, languages=("bn", "ur", "en"),
                              burn_in=BurnIn(pixels=0))
    renderer = Renderer(display, Words(("bn", "ur", "en")), painter, (1920, 1080))
    renderer.draw(pygame.Surface((1920, 1080)), view(10), 0.0, None)
    tiles = [r for r in renderer.report() if r.part == "tile"]
    assert len(tiles) == 10
    for tile in tiles:
        rows = {d.languages: d.lines[0][1] for d in tile.texts if d.role == "label"}
        assert set(rows) == {("bn",), ("ur",), ("en",)}
        pad = rows[("bn",)].x - tile.box.x
        assert rows[("en",)].x == tile.box.x + pad               # left to right: at the left
        assert rows[("ur",)].right == tile.box.right - pad       # right to left: at the right
        assert rows[("ur",)].x > rows[("bn",)].x


# -- config ----------------------------------------------------------------------------

def _write(tmp_path, text):
    path = tmp_path / "board.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


BOARD = """\
    display:
      id: nrs-lobby-1
      languages: [bn, en, hi]
      title: {bn: "নীলরতন সরকার", en: "NRS", hi: "नील रतन सरकार"}
    broker: {host: 127.0.0.1}
    board:
      hospital: nrs
      tiles:
        - department: icu
        - department: medicine
          label: {bn: মেডিসিন, en: Medicine, hi: मेडिसिन}
    """


def test_labels_in_any_language_and_a_built_in_name_in_each(tmp_path):
    settings = config.read(_write(tmp_path, BOARD))
    assert settings.display.languages == ("bn", "en", "hi")
    icu, medicine = settings.board.tiles
    assert icu.label.lines(("bn", "en", "hi")) == [("bn", "আইসিইউ"), ("en", "ICU"),
                                                   ("hi", "आईसीयू")]
    assert medicine.label == Label(bn="মেডিসিন", en="Medicine", hi="मेडिसिन")


def test_a_missing_translation_is_a_config_error_naming_file_line_and_language(tmp_path):
    text = BOARD.replace(', hi: "नील रतन सरकार"', "").replace(
        "[bn, en, hi]", "[bn, en, hi, ur]").replace("- department: icu",
                                                    "- department: burns-unit")
    with pytest.raises(ConfigError) as caught:
        config.read(_write(tmp_path, text))
    problems = caught.value.problems
    assert problems == [
        'board.yaml:4: display.title: has no hi text, and display.languages lists hi: '
        'add hi: "..." (a translation checked by a reader of it)',
        'board.yaml:4: display.title: has no ur text, and display.languages lists ur: '
        'add ur: "..." (a translation checked by a reader of it)',
        "board.yaml:9: board.tiles[0].department: has no built-in bn name, and "
        "display.languages lists bn: give the tile a label with bn",
        "board.yaml:9: board.tiles[0].department: has no built-in hi name, and "
        "display.languages lists hi: give the tile a label with hi",
        "board.yaml:9: board.tiles[0].department: has no built-in ur name, and "
        "display.languages lists ur: give the tile a label with ur",
        'board.yaml:11: board.tiles[1].label: has no ur text, and display.languages '
        'lists ur: add ur: "..." (a translation checked by a reader of it)']


def test_bed_display_check_exits_2_on_a_missing_translation(tmp_path):
    path = _write(tmp_path, BOARD.replace(", hi: मेडिसिन", ""))
    done = subprocess.run([sys.executable, "-m", "display", "--config", path, "--check"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done
    assert "board.yaml:11: board.tiles[1].label: has no hi text" in done.stderr + done.stdout


def test_without_languages_a_board_reads_its_labels_as_before(tmp_path):
    text = BOARD.replace("      languages: [bn, en, hi]\n", "").replace(
        "label: {bn: মেডিসিন, en: Medicine, hi: मेडिसिन}", "label: Medicine")
    settings = config.read(_write(tmp_path, text))
    assert settings.display.languages == ("en", "bn")
    assert settings.board.tiles[1].label == Label("Medicine")


def test_numerals_and_turns_are_config_keys(tmp_path):
    text = BOARD.replace("languages: [bn, en, hi]",
                         "languages: [bn, en, hi]\n      numerals: native\n"
                         "      turn_seconds: 12")
    display = config.read(_write(tmp_path, text)).display
    assert display.numerals == "native" and display.turn_seconds == 12
    with pytest.raises(ConfigError) as caught:
        config.read(_write(tmp_path, text.replace("native", "roman")))
    assert "display.numerals" in caught.value.problems[0]


# -- turns -----------------------------------------------------------------------------

def test_turn_groups_keep_the_primary_and_cover_every_language():
    eight = languages.CODES
    assert groups(("en", "bn"), 3) == [("en", "bn")]
    assert groups(eight, 3) == [("bn", "en", "hi"), ("bn", "ur", "ne"), ("bn", "sat", "or"),
                                ("bn", "pa")]
    assert groups(eight, 2) == [("bn", lang) for lang in eight[1:]]


def test_secondary_languages_take_turns_and_never_mix_within_a_tile(painter):
    eight = languages.CODES
    display = DisplaySettings(id="lobby", title=TITLE, languages=eight,
                              burn_in=BurnIn(pixels=0), turn_seconds=8.0)
    renderer = Renderer(display, Words(eight), painter, (1920, 1080))
    surface = pygame.Surface((1920, 1080))
    seen = []
    turns = renderer.turns.turns(40, tuple(t.label for t in view(40).tiles))
    assert len(turns) > 1 and all(group[0] == "bn" for group in turns)
    for turn in range(len(turns) + 1):
        renderer.draw(surface, view(40), 8.0 * turn + 0.5, None)
        shown = renderer.words.languages
        seen.append(shown)
        for report in renderer.report():
            for drawn in report.texts:
                if drawn.role not in ("figure", "clock"):
                    assert set(drawn.languages) <= set(shown), (report.part, drawn)
            if report.part == "tile":
                labels = [d.languages for d in report.texts if d.role == "label"]
                assert [lang for langs in labels for lang in langs] == list(shown)
    assert seen[:len(turns)] == turns and seen[-1] == turns[0]
    assert {lang for group in seen for lang in group} == set(eight)


def test_three_at_once_where_the_screen_allows(painter):
    three = ("bn", "hi", "en")
    display = DisplaySettings(id="lobby", title=TITLE, languages=three,
                              burn_in=BurnIn(pixels=0))
    renderer = Renderer(display, Words(three), painter, (1920, 1080))
    renderer.draw(pygame.Surface((1920, 1080)), view(10), 0.0, None)
    assert renderer.words.languages == three
    # forty tiles: a third line would take another page, so hi and en take turns
    renderer = Renderer(display, Words(three), painter, (1920, 1080))
    renderer.draw(pygame.Surface((1920, 1080)), view(40), 0.0, None)
    assert renderer.words.languages == ("bn", "hi") and renderer.layout.pages == 1
    renderer.draw(pygame.Surface((1920, 1080)), view(40), 8.5, None)
    assert renderer.words.languages == ("bn", "en") and renderer.layout.pages == 1


def test_every_script_s_line_fits_the_height_the_layout_plans(painter):
    # Nastaliq's line is 2.5 times its size: drawn at 0.6 of the line's size, it fits
    from display.layout import line_height
    samples_of = {"ur": "آئی سی یو", "hi": "आईसीयू", "bn": "আইসিইউ", "sat": "ᱟᱭᱤᱥᱤᱭᱩ",
                  "or": "ଆଇସିୟୁ", "pa": "ਆਈਸੀਯੂ", "en": "ICU", "ne": "आईसीयू"}
    assert set(samples_of) == set(languages.CODES)
    for text in samples_of.values():
        for size in range(8, 300, 3):
            for bold in (False, True):
                assert painter.line_height(text, size, bold) <= line_height(size), (text, size)


# -- an inventory's boards -------------------------------------------------------------

def test_an_inventory_board_in_three_languages_is_planned_with_each_label_in_each(tmp_path):
    import yaml
    from .ops_helpers import bedboard
    from .plan_helpers import write_inventory
    text = """\
        hospital: {id: nrs, name: {en: NRS, bn: এনআরএস, hi: एनआरएस}}
        broker: {host: broker.lan}
        departments:
          - {id: icu, wards: [{id: unit-1, capacity: 2}]}
          - {id: medicine, label: {en: Medicine, bn: মেডিসিন, hi: मेडिसिन},
             wards: [{id: male, capacity: 4}]}
        boards: [{id: lobby, languages: [bn, hi, en]}]
        """
    out = tmp_path / "plan"
    result = bedboard("plan", write_inventory(tmp_path, text=text), "--out", out)
    assert result.returncode == 0, result.stderr
    path = out / "devices" / "lobby" / "display.yaml"
    board = yaml.safe_load(path.read_text())
    assert board["display"]["languages"] == ["bn", "hi", "en"]
    assert board["board"]["tiles"][0]["label"] == {"bn": "আইসিইউ", "hi": "आईसीयू",
                                                   "en": "ICU"}
    assert board["display"]["title"] == {"bn": "এনআরএস", "hi": "एनआरएस", "en": "NRS"}
    # a label without Hindi: told at the board, nothing planned
    result = bedboard("plan", write_inventory(tmp_path, text=text.replace(
        ", hi: मेडिसिन", "")), "--out", tmp_path / "plan2")
    assert result.returncode != 0
    assert "boards[0].languages: the medicine tile's label has no hi text" in result.stderr


def test_libyaml_reads_every_phrase_table_as_the_python_loader_does():
    # the board reads its tables with libyaml's loader where PyYAML has one (start-up
    # cost); what it reads must be what the reference loader reads, table by table
    import yaml
    for code in languages.CODES:
        with open(phrases.path(code), encoding="utf-8") as stream:
            reference = yaml.safe_load(stream)
        assert {key: entry["text"] for key, entry in reference["phrases"].items()} == \
            phrases.table(code), code
