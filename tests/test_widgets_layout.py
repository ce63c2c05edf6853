"""The explorer's picture on the page: sized to its container, numbers legible, the selection's look, NaN cells.

The assumption behind "legible": a notebook's output area 800 CSS px wide at 100% browser zoom. The picture's
natural width is 800 CSS px (it is shown at 100% of its container, never wider), so a number printed at
``FONT_MIN * SCALE`` PNG pixels is ``FONT_MIN`` = 10 CSS px on that page, the size every figure keeps to.
"""
import io

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

from matplotlib.colors import to_rgb  # noqa: E402
from PIL import Image  # noqa: E402

import poolviz as pv  # noqa: E402
from poolviz.style import PAD_COLOR, SELECT_COLOR, SELECT_HALO, select_effects  # noqa: E402
from poolviz.widgets import explore, static_explorer  # noqa: E402
from poolviz.widgets.glyphs import BORDER_BAND, FONT_MIN, SCALE, digit_height, label_bitmap  # noqa: E402
from poolviz.widgets.layout import CELL_MAX, CELL_STACKED, MARGIN, TITLE_H, WIDTH, need_cell, plan_layout  # noqa: E402
from poolviz.widgets.raster import SELECT_WIDTH  # noqa: E402


def _pixels(png) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _cell(ex, panel, i, j) -> np.ndarray:
    """The PNG pixels of cell (i, j) of ``panel`` (0 input grid, 1 output, 2 gradient), borders included."""
    layout = ex._renderer.layout
    c = layout.cell * SCALE
    gx, gy = (v * SCALE for v in layout.grids[panel])
    return _pixels(ex.png)[gy + i * c: gy + (i + 1) * c, gx + j * c: gx + (j + 1) * c]


# --- sized to the page ----------------------------------------------------------------------------------------

def test_the_picture_has_twice_the_pixels_of_its_natural_width():
    ex = explore()
    width, height = Image.open(io.BytesIO(ex.png)).size
    assert width == WIDTH * SCALE == 1600
    assert height == ex._renderer.layout.height * SCALE
    assert ex.image.layout.max_width == f"{WIDTH}px" and ex.image.layout.width == "100%"


@pytest.mark.parametrize("kind", ["random", "relu", "image", "ties"])
@pytest.mark.parametrize("geometry", [{"kernel_size": 2}, {"kernel_size": 2, "stride": 1, "grad_kind": "random"},
                                      {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}])
def test_every_number_of_a_16x16_input_is_printed_at_10_css_px_or_more(kind, geometry):
    ex = explore(size=16, input_kind=kind, **geometry)
    assert ex.message == "" and ex.unlabelled == ()
    assert all(font is not None and font >= FONT_MIN * SCALE for font in ex._scene.fonts)
    assert "no numbers" not in ex.info.value


def test_the_digits_are_in_the_picture_at_their_full_height():
    ex = explore(np.full((16, 16), 0.25) + np.eye(16), kernel_size=2)  # every label "0.25" or "1.25"
    pic = _cell(ex, 0, 5, 7)
    inner = pic[BORDER_BAND:-BORDER_BAND, BORDER_BAND:-BORDER_BAND]
    background = inner[0, 0]
    ink_rows = np.nonzero((np.abs(inner - background) > 80).any(axis=(1, 2)))[0]
    # "0.25" is set at FONT_MIN or more: its digits span at least the digit height of FONT_MIN
    assert ink_rows.size and ink_rows[-1] - ink_rows[0] + 1 >= digit_height(FONT_MIN * SCALE) - 1


def test_a_larger_input_keeps_a_short_picture_and_says_its_numbers_are_left_out():
    ex = explore(size=32, kernel_size=2)
    assert ex._renderer.layout.kind == "row" and ex._renderer.layout.height < 400
    assert "input" in ex.unlabelled
    assert "no numbers in the input" in ex.info.value and "choose a smaller input" in ex.info.value


def test_the_size_follows_the_geometry_only():
    ex = explore(size=8, kernel_size=2)
    size = Image.open(io.BytesIO(ex.png)).size
    for name, value in [("grad_kind", "random"), ("op", "avg"), ("row", 1), ("step", 3), ("op", "lse"),
                        ("tie_policy", "split")]:
        getattr(ex, name).value = value
        assert Image.open(io.BytesIO(ex.png)).size == size, name  # the page does not jump
    ex.size.value = 16
    assert Image.open(io.BytesIO(ex.png)).size[1] > size[1]


SHAPES = [  # (input grid, output, gradient), dx offset
    (((6, 6), (3, 3), (6, 6)), (0, 0)),
    (((2, 2), (1, 1), (2, 2)), (0, 0)),
    (((8, 8), (4, 4), (8, 8)), (0, 0)),
    (((10, 10), (8, 8), (8, 8)), (1, 1)),
    (((16, 16), (8, 8), (16, 16)), (0, 0)),
    (((16, 16), (15, 15), (16, 16)), (0, 0)),
    (((18, 18), (9, 9), (16, 16)), (1, 1)),
    (((4, 12), (2, 6), (4, 12)), (0, 0)),
    (((20, 20), (10, 10), (20, 20)), (0, 0)),
    (((32, 32), (16, 16), (32, 32)), (0, 0)),
]


@pytest.mark.parametrize("shapes, offset", SHAPES)
def test_layouts_fit_the_width_without_overlaps_or_letterbox_bars(shapes, offset):
    layout = plan_layout(shapes, offset)
    c = layout.cell
    boxes = []
    for (gx, gy), (tx, ty, tw), (rows, cols) in zip(layout.grids, layout.titles, shapes):
        grid = (gx, gy, gx + cols * c, gy + rows * c)
        title = (tx, ty, tx + tw, ty + TITLE_H)
        assert title[3] <= grid[1]  # the title above its grid
        for x0, y0, x1, y1 in (grid, title):
            assert 0 <= x0 and x1 <= layout.width and 0 <= y0 and y1 <= layout.height
        boxes.append((min(grid[0], title[0]), title[1], max(grid[2], title[2]), grid[3]))
    for a in range(3):
        for b in range(a + 1, 3):
            A, B = boxes[a], boxes[b]
            assert A[2] <= B[0] or B[2] <= A[0] or A[3] <= B[1] or B[3] <= A[1], (a, b, layout)
    # no empty bars above or below: the picture is as tall as what it shows
    assert min(box[1] for box in boxes) == MARGIN and max(box[3] for box in boxes) == layout.height - MARGIN
    # little room left and right, unless the cells are as large as they may grow (the stacked layouts keep
    # them small, so that the picture stays short)
    cap = CELL_MAX if layout.kind == "row" else max(CELL_STACKED, need_cell())
    span = max(box[2] for box in boxes) - min(box[0] for box in boxes)
    assert span >= 0.9 * layout.width or c == cap
    # the gradient's cells line up with the input cells they belong to
    (gx, gy), (dx_x, dx_y) = layout.grids[0], layout.grids[2]
    if layout.kind == "row":
        assert dx_y == gy + offset[0] * c
    else:
        assert dx_x == gx + offset[1] * c
    # the numbers fit, unless no layout can hold them (then the shortest: one row)
    if c < need_cell():
        assert layout.kind == "row"
        # not even a column, the narrowest layout, could have given the cells room
        assert max(cols for _, cols in shapes[:2]) * need_cell() > WIDTH - 2 * MARGIN


def test_one_row_when_it_fits_then_stacked_then_a_column():
    assert plan_layout(((6, 6), (3, 3), (6, 6))).kind == "row"
    assert plan_layout(((8, 8), (4, 4), (8, 8))).kind == "row"
    assert plan_layout(((16, 16), (8, 8), (16, 16))).kind == "stacked"
    assert plan_layout(((16, 16), (15, 15), (16, 16))).kind == "column"


def test_the_kernel_free_explorer_gives_every_frame_one_size():
    box = static_explorer("kernel_size", [1, 2, 3], size=6)
    sizes = {Image.open(io.BytesIO(f)).size for f in box.frames}
    assert len(sizes) == 1


# --- the selection: SELECT_COLOR in a black halo -----------------------------------------------------------------

def test_every_selection_mark_is_white_in_a_black_halo():
    ex = explore(kernel_size=2, dilation=2, stride=1, size=6)
    R = ex._renderer
    expected = [(type(e), getattr(e, "_gc", None)) for e in select_effects(SELECT_WIDTH)]
    for name in ("sel_in", "sel_out", "targets_in", "targets_dx", "members"):
        artist = getattr(R, name)
        assert [(type(e), getattr(e, "_gc", None)) for e in artist.get_path_effects()] == expected, name
        colours = ([artist.get_edgecolor()] if name.startswith("sel") else
                   [artist.get_markerfacecolor()] if name in ("targets_in", "members") else [artist.get_color()])
        assert all(to_rgb(col) == to_rgb(SELECT_COLOR) for col in colours), name
    assert expected[0][1] == {"linewidth": SELECT_WIDTH + 2.5, "foreground": SELECT_HALO}
    # the line and its halo stay in the band along the cell border that the numbers keep clear
    assert (SELECT_WIDTH + 2.5) / 2 * R.dpi / 72 <= BORDER_BAND


def test_the_selected_output_cell_is_drawn_with_its_halo():
    ex = explore(kernel_size=2, input_kind="ties", size=8)
    ex.row.value, ex.col.value = 1, 1
    band = BORDER_BAND + 1

    def halo(i, j):
        pic = _cell(ex, 1, i, j)
        edge = np.concatenate([pic[:band].reshape(-1, 3), pic[-band:].reshape(-1, 3)])
        return int((edge.max(axis=1) < 40).sum())  # black pixels along the top and bottom borders

    assert halo(1, 1) > 0 and halo(3, 3) == 0  # only around the selected cell
    ex.step.value = 0  # nothing selected before the first step
    assert halo(1, 1) == 0


# --- one rule for NaN ------------------------------------------------------------------------------------------

def test_a_nan_cell_is_the_grey_of_the_static_plots():
    from poolviz.plots.cells import with_padding_colour

    x = np.arange(16.0).reshape(4, 4)
    x[1, 1] = np.nan
    ex = explore(x, kernel_size=2)
    grey = np.round(np.multiply(to_rgb(PAD_COLOR), 255))
    assert to_rgb(with_padding_colour("cividis").get_bad()) == to_rgb(PAD_COLOR)  # the static plots' NaN
    for panel, (i, j) in ((0, (1, 1)), (1, (0, 0))):  # the NaN input and the output it propagates to
        pic = _cell(ex, panel, i, j)
        c = pic.shape[0]
        # a corner, clear of the label (the stored first picture has a palette: a level or two off)
        np.testing.assert_allclose(pic[int(0.85 * c), int(0.85 * c)], grey, atol=2)
    assert np.isnan(ex.output[0, 0])
    np.testing.assert_array_equal(ex.output, pv.max_pool2d(x, 2))


# --- the matrix box ----------------------------------------------------------------------------------------------

def test_the_matrix_box_holds_8_columns_of_numbers_without_wrapping():
    from poolviz.widgets.explorer import MATRIX_WIDTH

    ex = explore(np.full((4, 8), -12.5), kernel_size=2)
    assert ex.matrix.layout.width == f"{MATRIX_WIDTH}px"
    row = "  ".join(["-12.5"] * 8)
    text = label_bitmap(row, 13)[0].shape[1]  # DejaVu Sans at 13 px, wider than most interface fonts
    label, padding_and_scrollbar = 80, 30
    assert MATRIX_WIDTH >= label + text + padding_and_scrollbar
    assert ex.matrix.value.splitlines()[0] == " ".join(["-12.5"] * 8)
