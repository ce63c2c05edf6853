"""Interactive explorers: see where the error signal goes while you change the pooling.

``explore()`` returns a :class:`PoolExplorer`, an ``ipywidgets.VBox`` that displays itself. Its picture is
a PNG in an ``ipywidgets.Image``, drawn by a pyplot-free :class:`matplotlib.figure.Figure` whose artists
are updated in place. That is what keeps a notebook stable under nbval (image outputs are not compared),
works in Voila, and embeds in static HTML with the last picture. :func:`static_explorer` pre-renders frames
into a ``Stack`` linked to a slider (and a ``Play``) with ``jslink``, so the slider works on a static HTML
page with no Python running.

Rooms, each with one job (top to bottom):

* :mod:`~poolviz.widgets.explorer`: :class:`PoolExplorer` and :func:`explore`, the controls wired to a scene;
* :mod:`~poolviz.widgets.static`: :func:`static_explorer`, kernel-free frames;
* :mod:`~poolviz.widgets.scene`: parameters -> numbers -> picture, widget-free (and :func:`parse_matrix`);
* :mod:`~poolviz.widgets.params`: the user's arguments, checked (honoured or refused in words), and the
  menus, sliders and sweeps read from the op registry :mod:`poolviz.ops`;
* :mod:`~poolviz.widgets.raster`: fast labelled heatmaps as pixel arrays, and the three-panel figure;
  :mod:`~poolviz.widgets.layout` places the panels, :mod:`~poolviz.widgets.glyphs` draws their text.

Colours, colour scales, text colour, padded grids and numbers come from :mod:`poolviz.style`, as in the
static figures of :mod:`poolviz.plots`.
"""
from .explorer import PoolExplorer, explore
from .scene import parse_matrix
from .static import StaticExplorer, static_explorer

__all__ = ["PoolExplorer", "StaticExplorer", "explore", "parse_matrix", "static_explorer"]
