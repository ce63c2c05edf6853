"""Renumber the ipywidgets model ids stored in notebooks, so that re-executing a notebook gives a small diff.

Every execution gives each widget a new random model id (a uuid), and a notebook stores that id in three
places: the output that displays a widget (``application/vnd.jupyter.widget-view+json`` ``model_id``), the
keys of the stored widget state (``metadata.widgets["application/vnd.jupyter.widget-state+json"].state``),
and the references between models inside that state (``"IPY_MODEL_<id>"``: children, layouts, styles,
links). This script replaces each id by a 32-digit hexadecimal counter (``...0001``, ``...0002``, ...), the
same shape as a uuid's hex, in order of first appearance:

1. the widgets displayed by the outputs, in cell order, each followed by the models it refers to
   (depth first; a model's references in the order of its state's sorted keys);
2. then the models nothing displayed refers to (``jslink`` links, widgets never shown), smallest content
   first, with the ids already numbered written in, each again followed by what it refers to.

The order depends only on the notebook's structure and content, never on the ids' values, so running it
twice changes nothing, and two executions that build the same widgets store the same ids. Files are read
and written as nbformat writes them (sorted keys, one-space indent), and left untouched when no id changes.

Usage::

    python tools/normalize_notebooks.py notebooks/*.ipynb          # rewrite in place
    python tools/normalize_notebooks.py --check notebooks/*.ipynb  # exit 1 if any would change
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
# ipywidgets serialises a reference to another model as this whole string (ids are uuid hex)
_REF = re.compile(r"IPY_MODEL_([0-9A-Za-z_-]+)")


def _state(nb: dict) -> dict:
    """The stored widget state, ``{model_id: model}`` (empty when the notebook stores none)."""
    return nb.get("metadata", {}).get("widgets", {}).get(STATE, {}).get("state", {}) or {}


def _ids_in(obj, refs=True):
    """Model ids ``obj`` refers to, in a fixed order: widget-view model ids and (if ``refs``) IPY_MODEL
    references, walking dicts by sorted key and lists in order."""
    if isinstance(obj, str):
        m = _REF.fullmatch(obj) if refs else None
        if m:
            yield m.group(1)
    elif isinstance(obj, dict):
        view = obj.get(VIEW)
        if isinstance(view, dict) and isinstance(view.get("model_id"), str):
            yield view["model_id"]
        for key in sorted(obj):
            if key != VIEW:
                yield from _ids_in(obj[key], refs)
    elif isinstance(obj, list):
        for item in obj:
            yield from _ids_in(item, refs)


def _new_id(n: int) -> str:
    return f"{n:032x}"


def model_order(nb: dict) -> list[str]:
    """Every model id in the notebook, in order of first appearance (see the module docstring)."""
    state = _state(nb)
    order: dict[str, None] = {}  # an ordered set

    def visit(root):
        stack = [root]
        while stack:
            mid = stack.pop()
            if mid in order:
                continue
            order[mid] = None
            stack.extend(reversed([r for r in _ids_in(state.get(mid, {})) if r not in order]))

    for cell in nb.get("cells", []):
        for mid in _ids_in(cell.get("outputs", []), refs=False):
            visit(mid)
    rest = [mid for mid in state if mid not in order]
    while rest:
        # unreached models, by their content with the numbered ids written in and the others blanked;
        # the old id only breaks a tie between identical models
        known = {mid: _new_id(i + 1) for i, mid in enumerate(order)}
        blank = {mid: "?" for mid in rest}
        key = min(rest, key=lambda mid: (json.dumps(_rewrite(state[mid], {**blank, **known}), sort_keys=True), mid))
        visit(key)
        rest = [mid for mid in rest if mid not in order]
    return list(order)


def _rewrite(obj, mapping: dict, refs=True):
    """A copy of ``obj`` with every widget-view model id and (if ``refs``) IPY_MODEL reference mapped."""
    if isinstance(obj, str):
        m = _REF.fullmatch(obj) if refs else None
        return "IPY_MODEL_" + mapping.get(m.group(1), m.group(1)) if m else obj
    if isinstance(obj, list):
        return [_rewrite(item, mapping, refs) for item in obj]
    if isinstance(obj, dict):
        out = {key: _rewrite(value, mapping, refs) for key, value in obj.items()}
        view = out.get(VIEW)
        if isinstance(view, dict) and isinstance(view.get("model_id"), str):
            out[VIEW] = dict(view, model_id=mapping.get(view["model_id"], view["model_id"]))
        return out
    return obj


def normalize(nb: dict) -> dict:
    """A copy of notebook ``nb`` (as loaded from JSON) with its widget model ids renumbered."""
    mapping = {mid: _new_id(i + 1) for i, mid in enumerate(model_order(nb))}
    out = copy.copy(nb)
    out["cells"] = [dict(cell, outputs=_rewrite(cell["outputs"], mapping, refs=False)) if "outputs" in cell else cell
                    for cell in nb.get("cells", [])]
    state = _state(nb)
    if state:
        widgets_meta = copy.deepcopy(nb["metadata"]["widgets"])
        new_state = {mapping[mid]: _rewrite(model, mapping) for mid, model in state.items()}
        widgets_meta[STATE]["state"] = dict(sorted(new_state.items()))
        out["metadata"] = dict(nb["metadata"], widgets=widgets_meta)
    return out


def dumps(nb: dict) -> str:
    """The notebook as nbformat writes it."""
    return json.dumps(nb, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False) + "\n"


def normalize_file(path: Path, *, check: bool = False) -> bool:
    """Normalise the notebook at ``path`` in place (unless ``check``); return whether it changed."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    new = normalize(nb)
    if new == nb:  # nothing to renumber: leave the file as it is, whatever wrote it
        return False
    if not check:
        path.write_text(dumps(new), encoding="utf-8")
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook would change")
    args = parser.parse_args(argv)
    changed = [p for p in args.notebooks if normalize_file(p, check=args.check)]
    for p in changed:
        print(f"{'would renumber' if args.check else 'renumbered'} widget ids: {p}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
