"""The house reads top-down: no module imports from a layer above its own."""
import ast
from pathlib import Path

import poolviz

#: Top to bottom. A module may import from the layers below it, and within its own subpackage.
LAYERS = [
    ["poolviz"],                                                        # the facade
    ["poolviz.widgets", "poolviz.exercises"],                           # explorers, exercise checkers
    ["poolviz.plots"],                                                  # static figures
    ["poolviz.routing", "poolviz.gradcheck"],                           # where the gradient goes, checked
    ["poolviz.ops", "poolviz.ties"],                                    # the op registry, the tie policies
    ["poolviz.max_pool", "poolviz.avg_pool", "poolviz.smooth_pool"],    # the ops
    ["poolviz._fast"],                                                  # the fast paths, behind a wall
    ["poolviz.windows", "poolviz.paths"],                               # window views; which path runs
    ["poolviz.geometry"],                                               # window geometry
    ["poolviz.checks", "poolviz.reference", "poolviz.style", "poolviz.data"],  # at the bottom
]
ROOT = Path(poolviz.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    """The index of the layer that holds ``module`` (its longest listed prefix)."""
    best = None
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and (best is None or len(name) > len(best[1])):
                best = (index, name)
    assert best is not None, f"{module} is in no layer: add it to LAYERS where it belongs"
    return best[0]


def _package(module: str) -> str:
    """The subpackage a module lives in (poolviz._fast, poolviz.widgets, ...), or the module itself."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _imports(path: Path, module: str):
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            yield from (n for n in names if n.startswith("poolviz"))
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("poolviz"))


def test_no_import_runs_back_up():
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        for target in _imports(path, module):
            if target == "poolviz" and module != "poolviz":
                upward.append(f"{module} imports the package facade")
            elif _package(target) != _package(module) and _layer(target) <= _layer(module) and module != "poolviz":
                upward.append(f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})")
    assert not upward, "\n".join(upward)


def test_every_module_has_a_layer():
    for path in ROOT.rglob("*.py"):
        _layer(_module_name(path))
