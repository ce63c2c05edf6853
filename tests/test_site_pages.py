"""tools/build_site.py without a browser: what a notebook becomes before nbconvert, links, the contents."""
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402
from sitekit import pages  # noqa: E402

import poolviz.widgets as W  # noqa: E402


def _notebook_with(*widgets_shown):
    """A notebook displaying ``widgets_shown`` (one cell each), with their widget state, as nbclient stores it."""
    from ipywidgets.embed import dependency_state

    nb = nbformat.v4.new_notebook()
    state = {}
    for widget in widgets_shown:
        bundle = widget._repr_mimebundle_()
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        output = nbformat.v4.new_output("display_data", data=data, metadata=metadata)
        nb.cells.append(nbformat.v4.new_code_cell("w", outputs=[output]))
        state.update(dependency_state([widget], drop_defaults=True))
    links = [link for w in widgets_shown for link in getattr(w, "links", [])]
    if links:
        state.update(dependency_state(links, drop_defaults=True))
    nb.metadata["widgets"] = {pages.STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    return nb


def test_live_explorer_becomes_its_picture_and_a_note_and_its_state_goes():
    live = W.explore(op="max", kernel_size=2)
    nb = _notebook_with(live)
    assert len(nb.metadata.widgets[pages.STATE]["state"]) > 10  # the explorer's controls, layouts, styles
    page, counts = pages.prepare(nb, "notebooks/04-x.ipynb")
    (output,) = page.cells[0].outputs
    assert list(output.data) == ["text/html"]
    html = output.data["text/html"]
    assert "needs a running Python kernel" in html and "python -m jupyter lab notebooks/04-x.ipynb" in html
    assert 'src="data:image/png;base64,' in html and 'width="800"' in html
    assert counts["live"] == 1 and counts["kernel_free"] == 0 and counts["widgets_dropped"] > 10
    assert "widgets" not in page.metadata  # nothing else was shown: no widget state left in the page
    assert pages.VIEW in nb.cells[0].outputs[0].data  # the notebook given is not changed


def test_kernel_free_explorer_stays_a_widget_with_a_noscript_picture_and_keeps_its_links():
    box = W.static_explorer(vary="kernel_size", values=[2, 3])
    live = W.explore(op="avg", kernel_size=2)
    nb = _notebook_with(box, live)
    page, counts = pages.prepare(nb, "notebooks/06-x.ipynb")
    html = page.cells[0].outputs[0].data["text/html"]
    assert f'<script type="{pages.VIEW}">' in html and box.model_id in html
    assert "<noscript><img" in html
    assert counts["kernel_free"] == 1 and counts["live"] == 1 and counts["widgets_dropped"] > 0
    kept = page.metadata.widgets[pages.STATE]["state"]
    assert box.model_id in kept and box.stack.model_id in kept and box.slider.model_id in kept
    assert all(link.model_id in kept for link in box.links)  # the sliders need their jslinks in the page
    assert live.model_id not in kept and live.kernel_size.model_id not in kept


def test_widgets_poolviz_does_not_know_are_left_as_nbconvert_shows_them():
    import ipywidgets

    slider = ipywidgets.IntSlider(3)
    nb = _notebook_with(slider)
    page, counts = pages.prepare(nb, "notebooks/x.ipynb")
    assert pages.VIEW in page.cells[0].outputs[0].data
    assert slider.model_id in page.metadata.widgets[pages.STATE]["state"]
    assert counts == {"live": 0, "kernel_free": 0, "widgets_dropped": 0}


@pytest.mark.parametrize("page, href, expected", [
    ("index.html", "04-backprop.ipynb", "04-backprop.html"),
    ("04-backprop.html", "../docs/cheat-sheet.md", "cheat-sheet.html"),
    ("04-backprop.html", "solutions/answers_02.md#3", "solutions/answers_02.html#3"),
    ("solutions/answers_02.html", "../notebooks/04-backprop.ipynb", "../04-backprop.html"),
    ("index.html", "https://example.org/a.ipynb", "https://example.org/a.ipynb"),  # outside links stay
    ("index.html", "unknown.md", "unknown.md"),
])
def test_links_to_course_files_point_at_their_pages(page, href, expected):
    targets = {"04-backprop.ipynb": "04-backprop.html", "cheat-sheet.md": "cheat-sheet.html",
               "answers_02.md": "solutions/answers_02.html"}
    assert pages.rewrite_links(f'<a href="{href}">x</a>', page, targets) == f'<a href="{expected}">x</a>'


def test_contents_come_from_the_readme_in_order():
    course = build_site.contents(ROOT / "README.md")
    files = [entry["file"] for entry in course]
    assert files == sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    assert course[0]["part"] == "Part 1" and course[-1]["part"] == "Part 2"


def test_contents_without_tables_say_what_is_missing(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# nothing here\n")
    with pytest.raises(ValueError, match="no table rows"):
        build_site.contents(readme)


def test_a_course_file_named_in_a_code_span_becomes_a_link():
    targets = {"answers_04.md": "solutions/answers_04.html"}
    html = pages.rewrite_links("<code>notebooks/solutions/answers_04.md</code> <code>solutions/gone.py</code>",
                               "04-x.html", targets)
    assert html == ('<a href="solutions/answers_04.html"><code>notebooks/solutions/answers_04.md</code></a> '
                    "<code>solutions/gone.py</code>")  # an unknown file stays a code span: no broken link


def test_without_solutions_every_link_into_solutions_goes_to_the_note_page():
    html = pages.rewrite_links('<a href="solutions/answers_02.md#1">a</a> <a href="solutions/new_one.py">b</a>',
                               "02-x.html", {}, solutions_page="solutions.html")
    assert html == '<a href="solutions.html">a</a> <a href="solutions.html">b</a>'


def test_tarball_names_are_what_npm_pack_writes():
    from sitekit import assets

    assert assets.HTML_MANAGER.tarball == "jupyter-widgets-html-manager-1.0.15.tgz"
    assert assets.HTML_MANAGER.url.endswith("/@jupyter-widgets/html-manager/-/html-manager-1.0.15.tgz")
    assert assets.MATHJAX.tarball == "mathjax-3.2.2.tgz"


def test_a_failed_build_leaves_the_previous_site_and_says_what_is_missing(tmp_path, capsys):
    out = tmp_path / "site"
    out.mkdir()
    (out / build_site.MARKER).write_text("")
    (out / "index.html").write_text("the previous site")
    empty = tmp_path / "cache"
    code = build_site.main(["--out", str(out), "--npm-cache", str(empty), "--offline"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("build_site: ") and "jupyter-widgets-html-manager-1.0.15.tgz is missing" in err
    assert "npm pack @jupyter-widgets/html-manager@1.0.15" in err and "Traceback" not in err
    assert (out / "index.html").read_text() == "the previous site"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no half-built folder left beside it


def test_a_folder_the_builder_did_not_make_is_never_replaced(tmp_path):
    out = tmp_path / "my-notes"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(FileExistsError, match="was not built by this script"):
        build_site.build(out, npm_cache=tmp_path / "cache", offline=True)
    assert (out / "thesis.tex").read_text() == "precious"
