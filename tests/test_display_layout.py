"""The board's geometry: any size, any rotation's shape, 1 to 120 tiles."""

from hypothesis import given, settings
from hypothesis import strategies as st

from display.layout import line_height, plan, readable, tile_geometry


def _parts(layout):
    parts = [layout.header, layout.grid, layout.footer]
    return parts + ([layout.banner] if layout.banner else [])


@settings(max_examples=150, deadline=None)
@given(width=st.integers(640, 3840), height=st.integers(480, 3840),
       count=st.integers(1, 120), banner=st.booleans(), message=st.booleans(),
       languages=st.integers(1, 2))
def test_every_tile_has_a_place_and_nothing_overlaps(width, height, count, banner, message,
                                                     languages):
    layout = plan((width, height), count, languages, banner=banner, message=message)
    board = layout.header.__class__(0, 0, width, height)
    parts = _parts(layout)
    for i, part in enumerate(parts):
        assert board.contains(part)
        assert not any(part.overlaps(other) for other in parts[i + 1:])
    for i, slot in enumerate(layout.slots):
        assert layout.grid.contains(slot)
        assert not any(slot.overlaps(other) for other in layout.slots[i + 1:])
    shown = [i for page in range(layout.pages) for i in layout.page_tiles(page)]
    assert shown == list(range(count))              # each tile once, in order
    assert layout.per_page <= len(layout.slots)
    tile = layout.tile
    inside = tile.labels + (tile.figure, tile.column, tile.state)
    for i, part in enumerate(inside):
        assert part.x >= 0 and part.y >= 0 and part.right <= tile.w and part.bottom <= tile.h
        assert not any(part.overlaps(other) for other in inside[i + 1:])
    # nothing is planned below the readable size, and every text row has room for it
    least = readable(min(width, height))
    assert min(tile.label_size, tile.state_size, tile.detail_size) >= least >= 12
    assert all(row.h >= line_height(least) for row in tile.labels + layout.title)
    if layout.legible():
        assert tile.figure_ink > max(tile.label_size, tile.state_size, tile.detail_size)


def test_the_readable_size_is_14_px_at_1080_lines_and_scales_with_them():
    assert readable(1080) == 14
    assert readable(2160) == 28
    assert readable(720) == 12 and readable(480) == 12     # never under 12 px
    assert readable(1440) == 19


def test_1080p_boards_of_up_to_12_tiles_plan_a_figure_of_an_eighth_of_the_height():
    for count in range(1, 13):
        layout = plan((1920, 1080), count)
        assert layout.pages == 1
        assert layout.tile.figure_ink >= 1080 / 8, count


def test_pages_only_when_tiles_would_be_too_small_to_read():
    assert plan((1920, 1080), 40).pages == 1           # the referral board: one page
    hundred_twenty = plan((1920, 1080), 120)
    assert hundred_twenty.pages == 3 and hundred_twenty.per_page == 40
    assert hundred_twenty.legible()
    small = plan((800, 480), 40)
    assert small.pages > 1 and small.legible()
    for count in (1, 8, 40, 120):
        assert plan((1080, 1920), count).legible()


def test_portrait_boards_are_laid_out_for_portrait():
    layout = plan((1080, 1920), 10)
    assert layout.rows > layout.columns
    assert layout.title[0].w > 1000                # the title has the whole width


def test_a_banner_does_not_reshuffle_the_pages():
    for count in (10, 40, 120):
        without, with_banner = plan((1920, 1080), count), plan((1920, 1080), count, banner=True)
        assert (without.pages, without.per_page) == (with_banner.pages, with_banner.per_page)
        assert (without.columns, without.rows) == (with_banner.columns, with_banner.rows)
        assert [s.x for s in without.slots] == [s.x for s in with_banner.slots]
        assert with_banner.banner.bottom <= with_banner.grid.y


def test_a_short_last_row_is_centred():
    layout = plan((1920, 1080), 10)
    last = layout.slots[-1]
    first_of_row = layout.slots[(len(layout.slots) - 1) // layout.columns * layout.columns]
    assert first_of_row.x > layout.slots[0].x or layout.per_page % layout.columns == 0
    assert abs((layout.grid.right - last.right) - (first_of_row.x - layout.grid.x)) <= 2


def test_the_offset_moves_everything():
    still, moved = plan((1920, 1080), 8), plan((1920, 1080), 8, offset=(3, 2))
    assert [s.moved(3, 2) for s in still.slots] == list(moved.slots)
    assert still.clock.moved(3, 2) == moved.clock


def test_tile_geometry_keeps_the_figure_the_largest_part():
    for w, h in ((466, 295), (227, 172), (1898, 907), (202, 197)):
        tile = tile_geometry(w, h)
        assert tile.figure.h >= max(line.h for line in tile.labels)
        assert tile.figure.w > tile.column.w
        assert tile.figure_ink > tile.label_size


class _Texts:
    """Stands for the board's texts: labels that need ``label_lines`` lines, states
    that need ``state_lines``."""

    def __init__(self, label_lines=1, state_lines=1, fit=True):
        self.label_lines, self.state_lines, self.fit = label_lines, state_lines, fit

    def label_fit(self, width, size, floor):
        return (size, self.label_lines) if self.fit else None

    def state_fit(self, width, size, floor, qualified=False):
        return (size, self.state_lines) if self.fit else None

    def title_fit(self, width, floor):
        return self.fit


def test_texts_that_fit_on_one_line_plan_the_same_board_as_no_texts():
    for size in ((1920, 1080), (1280, 720), (800, 480), (1080, 1920)):
        for count in (1, 3, 10, 40):
            assert plan(size, count, texts=_Texts()) == plan(size, count)


def test_a_label_that_wraps_takes_two_rows_per_language_from_the_figure():
    one, two = tile_geometry(466, 295), tile_geometry(466, 295, texts=_Texts(label_lines=2))
    assert (one.label_lines, two.label_lines) == (1, 2)
    assert len(two.labels) == 4 and two.labels[0].h == one.labels[0].h
    assert two.figure.y > one.figure.y and two.figure_ink < one.figure_ink


def test_state_words_one_a_line_make_the_bar_taller():
    one, two = tile_geometry(227, 172), tile_geometry(227, 172, texts=_Texts(state_lines=2))
    assert two.state.h > one.state.h and two.state.bottom == one.state.bottom


def test_a_title_too_long_to_share_its_row_goes_across_the_top():
    beside, across = plan((800, 480), 4, texts=_Texts()), plan((800, 480), 4,
                                                              texts=_Texts(fit=False))
    assert beside.title[0].w < 400 and across.title[0].w > 700
    assert across.clock.y > across.title[-1].bottom and across.header.h > beside.header.h


def test_texts_that_cannot_fit_make_a_grid_illegible_and_the_board_pages():
    tile = tile_geometry(227, 172, texts=_Texts(fit=False))
    assert not tile.fits
    assert plan((1920, 1080), 40).pages == 1
    # with nothing that fits anywhere, every page holds a single tile
    assert plan((1920, 1080), 4, texts=_Texts(fit=False)).per_page == 1


class _LabelsNeedWidth(_Texts):
    """Labels that fit (wrapped) only in a tile at least ``least`` pixels wide inside."""

    def __init__(self, least):
        super().__init__()
        self.least = least

    def label_fit(self, width, size, floor):
        return (floor, 2) if width >= self.least else None


def test_the_pages_chosen_are_legible_even_when_a_pixel_decides():
    # 50 tiles at 1810x1985: 26 a page would be legible (its tiles 318 px wide
    # inside), but pages are balanced to 25, whose tiles are 314 px inside
    layout = plan((1810, 1985), 50, 1, texts=_LabelsNeedWidth(316))
    assert layout.legible()
    assert layout.per_page * layout.pages >= 50
