"""The selection highlight stays visible on every colour map for readers with colour-vision deficiencies."""
import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_rgb

from poolviz import style

# Machado, Oliveira and Fernandes (2009), "A physiologically-based model for simulation of color vision
# deficiency", severity 1.0; they act on linear RGB.
_CVD = {
    "normal": np.eye(3),
    "protan": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                        [-0.003882, -0.048116, 1.051998]]),
    "deutan": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                        [-0.011820, 0.042940, 0.968881]]),
}


def _linear(rgb):
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _luminance(rgb, vision):
    lin = np.clip(_linear(rgb) @ _CVD[vision].T, 0, 1)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def _contrast(l1, l2):
    hi, lo = np.maximum(l1, l2), np.minimum(l1, l2)
    return (hi + 0.05) / (lo + 0.05)


def _map_colours():
    return np.concatenate([matplotlib.colormaps[name](np.linspace(0, 1, 65))[:, :3]
                           for name in (style.INPUT_CMAP, style.GRAD_CMAP, style.SIGNED_CMAP)]
                          + [np.array([to_rgb(style.PAD_COLOR), to_rgb(style.OUTSIDE_COLOR)])])


def _worst_contrast(strokes, vision):
    """Over every colour of every map: the best contrast any of the strokes gets there, at its worst place."""
    bg = _luminance(_map_colours(), vision)
    return min(max(_contrast(_luminance(to_rgb(s), vision), b) for s in strokes) for b in bg)


@pytest.mark.parametrize("vision", sorted(_CVD))
def test_selection_highlight_contrasts_with_every_map_colour(vision):
    assert _worst_contrast([style.SELECT_COLOR, style.SELECT_HALO], vision) >= 4.5


def test_the_old_vermillion_alone_fails_the_same_check():
    assert _worst_contrast(["#D55E00"], "deutan") < 2


def test_select_effects_draw_a_wider_halo_under_the_line():
    halo, normal = style.select_effects(2.0)
    assert halo._gc["linewidth"] > 2.0 and to_rgb(halo._gc["foreground"]) == to_rgb(style.SELECT_HALO)


def test_text_sizes_stay_above_the_projector_floor():
    # 10 px at the notebooks' 100 dpi is 7.2 pt; the floor is 7.5 pt, and every size the pictures use is above it
    assert style.FONT_MIN >= 7.5
    assert min(style.CELL_FONT, style.TICK_FONT, style.TITLE_FONT) >= style.FONT_MIN
    assert style.CELL_FONT * 100 / 72 >= 10


def test_gap_mark_differs_from_padding_and_the_selection():
    assert to_rgb(style.GAP_MARK_COLOR) != to_rgb(style.PAD_COLOR)
    mark, paper = (_luminance(to_rgb(c), "normal") for c in (style.GAP_MARK_COLOR, style.GAP_COLOR))
    assert _contrast(mark, paper) >= 4.5


def _demo_figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(np.arange(64.0).reshape(8, 8), cmap=style.INPUT_CMAP)
    for (i, j), v in np.ndenumerate(np.arange(64).reshape(8, 8)):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=8, color="white" if v < 32 else "black")
    fig.colorbar(im, ax=ax, label="input value")
    return fig


def test_compact_png_is_smaller_and_looks_the_same():
    import io

    from PIL import Image

    fig = _demo_figure()
    full = io.BytesIO()
    fig.savefig(full, format="png", bbox_inches="tight")
    small = style.compact_png(fig)
    a = np.asarray(Image.open(io.BytesIO(full.getvalue())).convert("RGB"), dtype=int)
    b_img = Image.open(io.BytesIO(small))
    b = np.asarray(b_img.convert("RGB"), dtype=int)
    assert b_img.mode == "P" and a.shape == b.shape  # 256 colours, the same pixels as the figure at its dpi
    assert len(small) < 0.6 * len(full.getvalue())
    assert (b[0, 0] == 255).all()  # the paper stays exactly white
    diff = np.abs(a - b).max(axis=-1)
    assert np.mean(diff) < 4 and diff.max() <= 32  # a few levels off at most: no lost text or outline


def test_show_figures_compact_registers_a_png_formatter():
    import base64

    from matplotlib.figure import Figure

    registered = {}

    class Formatter:
        def for_type(self, cls, func):
            registered[cls] = func

    class Shell:
        class display_formatter:  # noqa: N801 (IPython's attribute name)
            formatters = {"image/png": Formatter()}

    style.show_figures_compact(Shell())
    png = base64.b64decode(registered[Figure](_demo_figure()))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(RuntimeError, match="inside IPython"):
        style.show_figures_compact()
