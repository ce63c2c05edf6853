"""What a stored notebook becomes before nbconvert turns it into a page of the site.

* A **live explorer** (display metadata ``poolviz.explorer == "live"``, set by ``PoolExplorer``) cannot work
  without a kernel: its output becomes the picture it was stored with and, in place, a note saying that it
  needs a kernel and how to get one. Its controls are not shown, and its widget state is dropped.
* A **kernel-free explorer** (``"kernel-free"``, set by ``StaticExplorer``) stays a widget, whose slider works
  in the page, with its first picture inside ``<noscript>`` for a browser without JavaScript.
* Widget state that no remaining output displays is dropped (a live explorer's state holds its PNG again).
* Links between the course's files point at their pages.
"""
from __future__ import annotations

import copy
import html
import json
import posixpath
import re

import nbformat

VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"


def _png_tag(output, alt: str) -> str:
    png = output["data"]["image/png"]
    width = output.get("metadata", {}).get("image/png", {}).get("width")
    size = f' width="{int(width)}"' if width else ""
    return f'<img class="pv-picture" alt="{html.escape(alt)}"{size} src="data:image/png;base64,{png}">'


def live_html(output, source: str) -> str:
    """A live explorer's stored picture and, in place, what it needs to move."""
    return (f'<div class="pv-explorer pv-live">{_png_tag(output, "the explorer as stored")}'
            '<p class="pv-needs-kernel" role="note"><b>This explorer needs a running Python kernel.</b> Here it '
            'shows the picture it was stored with; its controls only work where Python runs. To move them, open '
            f'the notebook in JupyterLab: <code>python -m jupyter lab {html.escape(source)}</code>, then '
            '<i>Run &rarr; Run All Cells</i> (or <code>voila ' + html.escape(source) + '</code> for the page '
            'alone). The README says how to install the course.</p></div>')


def kernel_free_html(output) -> str:
    """A kernel-free explorer: the widget (drawn by the page's widget manager) and its picture without JS."""
    view = json.dumps(output["data"][VIEW])
    return (f'<div class="pv-explorer pv-kernel-free"><script type="{VIEW}">{view}</script>'
            f'<noscript>{_png_tag(output, "the explorer first picture")}<p>With JavaScript on, a slider '
            'switches between its pictures.</p></noscript></div>')


def _html_output(text: str):
    return nbformat.from_dict({"output_type": "display_data", "data": {"text/html": text}, "metadata": {}})


def model_refs(state: dict, roots) -> set[str]:
    """The ids of the widget models reachable from ``roots`` through ``IPY_MODEL_`` references."""
    seen, todo = set(), list(roots)
    while todo:
        mid = todo.pop()
        if mid in seen or mid not in state:
            continue
        seen.add(mid)
        todo.extend(re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(state[mid].get("state", {}))))
    return seen


def _links_into(state: dict, kept: set[str]) -> set[str]:
    """The link models (``jslink``) whose both ends are kept: the page needs them for its sliders."""
    found = set()
    for mid, model in state.items():
        if model.get("model_name") in ("LinkModel", "DirectionalLinkModel"):
            ends = set(re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(model.get("state", {}))))
            if ends and ends <= kept:
                found |= model_refs(state, [mid])
    return found


def prepare(nb, source: str) -> tuple[object, dict]:
    """A copy of notebook ``nb`` ready for the page, and counts of what changed.

    ``source`` is the notebook's path as a learner types it (``notebooks/04-....ipynb``).
    """
    nb = copy.deepcopy(nb)
    counts = {"live": 0, "kernel_free": 0, "widgets_dropped": 0}
    shown = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for i, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            if VIEW not in data:
                continue
            kind = output.get("metadata", {}).get("poolviz", {}).get("explorer")
            if kind == "live" and "image/png" in data:
                cell.outputs[i] = _html_output(live_html(output, source))
                counts["live"] += 1
            elif kind == "kernel-free" and "image/png" in data:
                cell.outputs[i] = _html_output(kernel_free_html(output))
                shown.append(data[VIEW]["model_id"])
                counts["kernel_free"] += 1
            else:
                shown.append(data[VIEW]["model_id"])
    widgets = nb.metadata.get("widgets", {}).get(STATE)
    if widgets:
        state = widgets["state"]
        kept = model_refs(state, shown)
        kept |= _links_into(state, kept)
        counts["widgets_dropped"] = len(state) - len(kept)
        widgets["state"] = {mid: model for mid, model in state.items() if mid in kept}
        if not kept:
            del nb.metadata["widgets"]
    return nb, counts


_HREF = re.compile(r'href="([^"#:?]+\.(?:ipynb|md|py))(#[^"]*)?"')
#: A course file named in a code span (``notebooks/solutions/answers_04.md``): made a link, then rewritten.
_NAMED = re.compile(r'<code>((?:\.\./)?(?:notebooks/)?solutions/[\w.-]+\.(?:md|py))</code>')


def rewrite_links(page_html: str, page: str, targets: dict[str, str], *, solutions_page: str | None = None) -> str:
    """Point the links to the course's files (by file name) at their pages, relative to ``page``.

    ``targets`` maps a file name (``04-backprop-through-max-pooling.ipynb``, ``cheat-sheet.md``) to its page
    in the site (``04-backprop-through-max-pooling.html``); other links are left alone. A file of
    ``solutions/`` named in a code span becomes a link too. With ``solutions_page`` (a site without the worked
    solutions), every link into a ``solutions/`` folder goes there instead, whatever the file.
    """
    here = posixpath.dirname(page) or "."
    page_html = _NAMED.sub(lambda m: f'<a href="{m.group(1)}">{m.group(0)}</a>'
                           if solutions_page or posixpath.basename(m.group(1)) in targets else m.group(0), page_html)

    def sub(match):
        path = match.group(1)
        if solutions_page and "solutions" in path.split("/")[:-1]:
            return f'href="{posixpath.relpath(solutions_page, here)}"'
        name = posixpath.basename(path)
        if name not in targets:
            return match.group(0)
        return f'href="{posixpath.relpath(targets[name], here)}{match.group(2) or ""}"'

    return _HREF.sub(sub, page_html)


def markdown_notebook(text: str, title: str):
    """A notebook of one markdown cell: how a Markdown file becomes a page in the site's style."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    nb.metadata["title"] = title
    return nb


def code_notebook(code: str, title: str, intro: str):
    """A notebook showing a Python file (highlighted, not run), under a line of ``intro``."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(intro), nbformat.v4.new_code_cell(code)])
    nb.metadata["title"] = title
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb

