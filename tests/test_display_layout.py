"""The board's geometry: any size, any rotation's shape, 1 to 120 tiles."""

from hypothesis import given, settings
from hypothesis import strategies as st

from display.layout import plan, tile_geometry


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
    for part in tile.labels + tile.details + (tile.figure, tile.state, tile.note):
        assert part.x >= 0 and part.y >= 0 and part.right <= tile.w and part.bottom <= tile.h


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
        assert tile.figure.w > tile.details[0].w
