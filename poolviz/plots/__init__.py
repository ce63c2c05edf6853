"""Static figures: pooling windows, routed gradients, Jacobians, and tie policies.

One module per family of figures: :mod:`.windows` (the windows over an input, one window's forward
and backward), :mod:`.gradients` (where the gradient goes: heatmaps, counts, ops and tie rules side by
side, Jacobians); :mod:`.cells` draws the labelled cell grids they share.

Every function follows matplotlib's ``plotter(ax, data) -> artists`` pattern: it draws onto the
``ax`` (or ``axes``) it is given and returns what it drew. When none is given it builds a new
:class:`matplotlib.figure.Figure` *without pyplot*, so nothing is registered globally and nothing
leaks; show it by ending a notebook cell with ``ax.figure`` (or ``display(ax.figure)``)::

    ax = plot_windows(x, kernel_size=2, stride=1, selected=(0, 1))
    ax.figure

No ``plt.show()``, no ``savefig``, no rcParams changed at import.

Colours, colour scales (NaN- and infinity-safe), text colour and number formatting come from
:mod:`poolviz.style`, which the explorers use too; the reasons for each colormap are written there.

Readable on a projector: notebooks store figures at 100 dpi, and no text in these figures is smaller than
8 pt (11 px there). A figure made here is sized with its grid (0.4 in per cell, up to 10 in wide); numbers
are printed in grids up to 12x12 and left out of larger ones, never shrunk. Every colour bar says what its
colour means. ``poolviz.style.show_figures_compact()`` stores the figures with 256 colours, a third of the bytes.
"""
from ..style import GRAD_CMAP, INPUT_CMAP, OKABE_ITO, SELECT_COLOR, SIGNED_CMAP, grad_norm  # noqa: F401 (old home)
from ..style import format_value  # noqa: F401
from .gradients import plot_jacobian, plot_pooling_comparison, plot_route_counts, plot_routed_gradient, plot_tie_policies
from .windows import plot_axis_windows, plot_window_steps, plot_windows

__all__ = [
    "plot_axis_windows",
    "plot_jacobian",
    "plot_pooling_comparison",
    "plot_route_counts",
    "plot_routed_gradient",
    "plot_tie_policies",
    "plot_window_steps",
    "plot_windows",
]
