"""tools/normalize_notebooks.py on a tiny synthetic notebook: ids renumbered consistently, idempotent."""
import copy
import importlib.util
import json
import random
import re
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "tools" / "normalize_notebooks.py"
_spec = importlib.util.spec_from_file_location("normalize_notebooks", _PATH)
nn = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nn)

VIEW, STATE = nn.VIEW, nn.STATE


def _model(name, **state):
    return {"model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0", "model_name": name,
            "state": state}


def _notebook(ids):
    """A VBox (displayed) holding a Button and an Output that displays an Image; a link nothing displays;
    ``ids`` names the models (as uuids would)."""
    box, button, out, image, lay1, lay2, link, play = ids
    state = {
        link: _model("LinkModel", source=[f"IPY_MODEL_{play}", "value"], target=[f"IPY_MODEL_{button}", "n"]),
        image: _model("ImageModel", layout=f"IPY_MODEL_{lay2}", value="iVBORw0KGgo="),
        box: _model("VBoxModel", children=[f"IPY_MODEL_{button}", f"IPY_MODEL_{out}"], layout=f"IPY_MODEL_{lay1}"),
        lay1: _model("LayoutModel", width="660px"),
        button: _model("ButtonModel", description="IPY_MODEL_ is only a prefix here", layout=f"IPY_MODEL_{lay2}"),
        out: _model("OutputModel", outputs=[{"output_type": "display_data",
                                             "data": {VIEW: {"model_id": image, "version_major": 2}}}]),
        lay2: _model("LayoutModel", width=None),
        play: _model("PlayModel", value=0),
    }
    view = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
            "data": {VIEW: {"model_id": box, "version_major": 2, "version_minor": 0}, "text/plain": ["VBox(...)"]}}
    return {
        "cells": [
            {"cell_type": "markdown", "id": "a1", "metadata": {}, "source": ["IPY_MODEL_0123 in the text"]},
            {"cell_type": "code", "id": "b2", "metadata": {}, "execution_count": 1, "source": ["explore()"],
             "outputs": [view]},
        ],
        "metadata": {"widgets": {STATE: {"state": state, "version_major": 2, "version_minor": 0}}},
        "nbformat": 4, "nbformat_minor": 5,
    }


def _uuids(seed, n=8):
    rng = random.Random(seed)
    return [f"{rng.getrandbits(128):032x}" for _ in range(n)]


def _state(nb):
    return nb["metadata"]["widgets"][STATE]["state"]


def _new(n):
    return f"{n:032x}"


def test_ids_are_renumbered_consistently_in_order_of_first_appearance():
    ids = _uuids(0)
    nb = _notebook(ids)
    before = copy.deepcopy(nb)
    out = nn.normalize(nb)
    assert nb == before  # the input is not modified
    state = _state(out)
    # the displayed VBox first, then depth first by sorted state keys: children (button, its layout; output,
    # its image), then the box's layout; the link nothing displays comes last, followed by its Play
    box, button, o, image, lay1, lay2, link, play = ids
    expected = [box, button, lay2, o, image, lay1, link, play]
    mapping = {old: _new(i + 1) for i, old in enumerate(expected)}
    assert list(state) == [_new(i) for i in range(1, 9)]
    assert out["cells"][1]["outputs"][0]["data"][VIEW]["model_id"] == _new(1)
    assert state[_new(1)]["model_name"] == "VBoxModel" and state[_new(8)]["model_name"] == "PlayModel"
    # every reference resolves, and the state is the old one with the ids mapped
    refs = set(re.findall(r"IPY_MODEL_([0-9a-f]{32})", json.dumps(state)))
    assert refs | {state[mapping[o]]["state"]["outputs"][0]["data"][VIEW]["model_id"]} <= set(state)
    assert not any(old in json.dumps(out["metadata"]) + json.dumps(out["cells"][1]) for old in ids)
    for old, model in _state(nb).items():
        renamed = json.dumps(model)
        for a, b in mapping.items():
            renamed = renamed.replace(a, b)
        assert json.loads(renamed) == state[mapping[old]]
    # text that merely looks like an id is left alone
    assert out["cells"][0] == nb["cells"][0]
    assert state[mapping[button]]["state"]["description"] == "IPY_MODEL_ is only a prefix here"


def test_idempotent_and_independent_of_the_random_ids():
    once = nn.normalize(_notebook(_uuids(0)))
    assert nn.normalize(once) == once
    # a re-execution: new random ids, the state stored in another order; same result
    other = _notebook(_uuids(1))
    other["metadata"]["widgets"][STATE]["state"] = dict(reversed(list(_state(other).items())))
    again = nn.normalize(other)
    assert nn.dumps(again) == nn.dumps(once)


def test_notebook_without_widgets_is_unchanged(tmp_path):
    nb = {"cells": [{"cell_type": "code", "id": "c", "metadata": {}, "execution_count": 1, "source": [],
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": ["IPY_MODEL_x\n"]}]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert nn.normalize(nb) == nb
    path = tmp_path / "plain.ipynb"
    path.write_text(json.dumps(nb))  # not nbformat's layout: still left as it is
    assert not nn.normalize_file(path) and path.read_text() == json.dumps(nb)


def test_command_line_check_then_rewrite(tmp_path, capsys):
    path = tmp_path / "nb.ipynb"
    path.write_text(nn.dumps(_notebook(_uuids(2))))
    assert nn.main(["--check", str(path)]) == 1
    assert "would renumber" in capsys.readouterr().out
    assert nn.main([str(path)]) == 0
    assert json.loads(path.read_text()) == nn.normalize(_notebook(_uuids(2)))
    assert nn.main(["--check", str(path)]) == 0


@pytest.mark.parametrize("name", sorted(p.name for p in (_PATH.parents[1] / "notebooks").glob("*.ipynb")))
def test_stored_notebooks_are_normalised_and_consistent(name):
    nb = json.loads((_PATH.parents[1] / "notebooks" / name).read_text(encoding="utf-8"))
    assert nn.normalize(nb) == nb, "run: python tools/normalize_notebooks.py notebooks/*.ipynb"
    state = _state(nb) if "widgets" in nb["metadata"] else {}
    shown = [o["data"][VIEW]["model_id"] for c in nb["cells"] for o in c.get("outputs", [])
             if VIEW in o.get("data", {})]
    refs = set(re.findall(r'"IPY_MODEL_([^"]+)"', json.dumps(state)))
    assert set(shown) <= set(state) and refs <= set(state)  # every displayed or referenced model is stored
