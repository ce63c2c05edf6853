"""Build the nbgrader course's source notebooks (``classroom/source/``) from the lessons and the worked solutions.

For each lesson with coding exercises, one assignment, ``classroom/source/<lesson stem>/exercises.ipynb``:

* a header (which lesson, how grading works) and a setup cell with the imports;
* per coding exercise, in the lesson's order:

  - the exercise's text, copied from the lesson's ``## Exercises`` list (the numbered item, nothing else: the
    lesson's "Worked answers:" line and the other items stay out);
  - a solution cell: the lesson's stub (its ``def`` line and its ``check_...(fn)`` line) with the body of the
    worked solution from ``notebooks/solutions/*.py`` between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
    (nbgrader replaces that region by ``raise NotImplementedError()`` for the students). Keywords the worked
    solution takes but the lesson's stub does not get their defaults; a solution's helper from another
    solution module is defined inside the body, so the cell stands alone;
  - an autograder-tests cell: between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``, the poolviz
    checker runs on the student's function, prints its report, and asserts that every case passed.

The lessons' stubs and the solutions are read, never copied by hand, so the two cannot drift:
``tests/test_classroom.py`` fails when the files on disk differ from what this script builds now. A lesson
that gains a stub without an entry in :data:`EXERCISES` (or loses one) is an error, not a silent omission.

Usage::

    python tools/make_assignments.py          # (re)write classroom/source/
    python tools/make_assignments.py --check  # exit 1, listing the differences, if a rebuild would change it
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
SOURCE = ROOT / "classroom" / "source"
NOTEBOOK_NAME = "exercises.ipynb"

#: lesson number -> its coding exercises: (the stub's function, the solution module in notebooks/solutions/,
#: points). The points are the teacher's to change; the rest must match the lesson's stubs.
EXERCISES = {
    "02": [("avg_pool_backward", "avg_pool_backward", 2)],
    "03": [("max_derivative", "max_derivative", 1)],
    "04": [("max_pool_forward", "max_pool_forward", 1), ("max_pool_backward", "max_pool_backward", 2)],
    "05": [("max_pool_backward", "max_pool_backward", 3), ("output_size", "output_size", 2)],
    "06": [("safe_step", "safe_step", 2)],
    "07": [("lse_pool_backward", "lse_pool_backward", 2)],
    "08": [("max_pool_backward_vectorised", "vectorised_max_pool_backward", 3)],
    "10": [("max_unpool", "max_unpool", 2)],
}

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


@dataclass
class Stub:
    """An exercise stub cell of a lesson: ``def f(...):  # Exercise N ...  raise NotImplementedError`` + check."""

    number: int
    function: str
    header: str   # the def line(s), up to and including the colon
    check: str    # the check_...(f) line
    checker: str  # the checker's name


def lesson_path(number: str) -> Path:
    (path,) = NOTEBOOKS.glob(f"{number}-*.ipynb")
    return path


def _def_header(lines: list[str], node: ast.FunctionDef) -> str:
    """The ``def`` line(s) of ``node`` (1-based ``node.lineno`` into ``lines``), up to the colon."""
    for end in range(node.lineno, node.body[0].lineno + 1):
        header = "\n".join(lines[node.lineno - 1:end])
        try:
            ast.parse(header + "\n    pass")
            return header
        except SyntaxError:
            continue
    raise ValueError(f"cannot find the end of the def line of {node.name}")


def find_stubs(notebook: Path) -> list[Stub]:
    """The exercise stubs of a lesson: code cells that define one function raising NotImplementedError, then check it."""
    stubs = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or "raise NotImplementedError" not in source:
            continue
        tree = ast.parse(source)
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        last = tree.body[-1]
        if not (len(defs) == 1 and isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
                and getattr(last.value.func, "id", "").startswith("check_")):
            raise ValueError(f"{notebook.name}: a stub cell that is not `def f(...): raise NotImplementedError` "
                             f"followed by `check_...(f)`:\n{source}")
        number = re.search(r"#\s*Exercise (\d+)", source)
        if number is None:
            raise ValueError(f"{notebook.name}: the stub of {defs[0].name} does not say '# Exercise N'")
        lines = source.split("\n")
        stubs.append(Stub(int(number.group(1)), defs[0].name, _def_header(lines, defs[0]),
                          ast.get_source_segment(source, last), last.value.func.id))
    return stubs


def exercise_texts(notebook: Path) -> tuple[str, dict[int, str]]:
    """The lesson's title, and the text of each numbered item of its last ``## Exercises`` list (number -> text)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    title = markdown[0].split("\n")[0].lstrip("# ").strip()
    section = next(m for m in reversed(markdown) if "## Exercises" in m)
    section = section[section.rfind("## Exercises"):]
    items, current = {}, None
    for line in section.split("\n")[1:]:
        start = re.match(r"^(\d+)\. (.*)$", line)
        if start:
            current = int(start.group(1))
            items[current] = [start.group(2)]
        elif current is not None and (line.startswith("   ") or not line.strip()):
            items[current].append(line[3:])
        else:
            current = None  # text after the list ("Worked answers: ..."): not part of any exercise
    return title, {n: "\n".join(text).strip() for n, text in items.items()}


def _function(path: Path, name: str) -> tuple[list[str], ast.FunctionDef, ast.Module]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return source.split("\n"), node, tree
    raise ValueError(f"{path.name} has no function {name}")


def _params(node: ast.FunctionDef) -> dict[str, str | None]:
    """Parameter name -> its default's source (None when it has none), positional and keyword-only."""
    args = node.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + [ast.unparse(d) for d in args.defaults]
    params = {a.arg: d for a, d in zip(positional, defaults)}
    params.update({a.arg: (None if d is None else ast.unparse(d)) for a, d in zip(args.kwonlyargs, args.kw_defaults)})
    return params


def solution_parts(stub: Stub, module: str) -> tuple[list[str], list[str]]:
    """(module-level imports the solution needs, the lines of the solution's body indented for ``stub``'s def)."""
    lines, node, tree = _function(SOLUTIONS / f"{module}.py", stub.function)
    imports, helpers = [], []
    for statement in tree.body:
        if isinstance(statement, ast.Import | ast.ImportFrom) and not getattr(statement, "level", 0):
            imports.append(ast.unparse(statement))
        elif isinstance(statement, ast.ImportFrom):  # from .other import helper: define it inside the body
            for alias in statement.names:
                helper_imports, helper = _helper(statement.module, alias.name)
                imports += helper_imports
                helpers += helper

    stub_params = _params(ast.parse(stub.header + "\n    pass").body[0])
    solution_params = _params(node)
    unknown = set(stub_params) - set(solution_params)
    if unknown:
        raise ValueError(f"the lesson's {stub.function} takes {sorted(unknown)}, the worked solution in {module}.py not")
    extra = [(name, default) for name, default in solution_params.items() if name not in stub_params]
    if any(default is None for _, default in extra):
        raise ValueError(f"the worked {stub.function} in {module}.py needs arguments the lesson's stub lacks: {extra}")

    body = node.body
    has_doc = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(
        body[0].value.value, str)
    out = []
    if has_doc:
        out += lines[body[0].lineno - 1:body[0].end_lineno]
        body = body[1:]
    if extra:
        names, values = ", ".join(n for n, _ in extra), ", ".join(d for _, d in extra)
        out.append(f"    {names} = {values}  # not asked for in this exercise: the worked solution's default")
    out += helpers
    out += lines[body[0].lineno - 1:node.end_lineno]
    return imports, out


def _helper(module: str, name: str) -> tuple[list[str], list[str]]:
    """A function of another solution module, indented to be defined inside a body, and the imports it needs."""
    lines, node, tree = _function(SOLUTIONS / f"{module}.py", name)
    imports = [ast.unparse(s) for s in tree.body if isinstance(s, ast.Import | ast.ImportFrom) and not getattr(
        s, "level", 0)]
    return imports, [""] + textwrap.indent("\n".join(lines[node.lineno - 1:node.end_lineno]), "    ").split("\n") + [""]


def _setup_imports(imports: list[str], checkers: list[str]) -> str:
    stdlib = sorted({i for i in imports if i.split()[1].split(".")[0] in sys.stdlib_module_names})
    others = sorted(set(imports) - set(stdlib) | {"import numpy as np"})
    blocks = [stdlib, others, ["import poolviz as pv", f"from poolviz.exercises import {', '.join(checkers)}"]]
    return "\n\n".join("\n".join(b) for b in blocks if b)


def _points(n: int) -> str:
    return f"{n} point" if n == 1 else f"{n} points"


def _cell(kind: str, source: str, grade_id: str, *, solution=False, grade=False, points=0, locked=True):
    meta = {"nbgrader": {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
                         "solution": solution, "task": False}}
    if grade:
        meta["nbgrader"]["points"] = points
    new = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = new(source, metadata=meta)
    cell["id"] = grade_id
    return cell


def build_assignment(number: str) -> tuple[str, str]:
    """(assignment name, the source notebook's text) for lesson ``number``."""
    lesson = lesson_path(number)
    stubs = find_stubs(lesson)
    wanted = EXERCISES[number]
    if [s.function for s in stubs] != [f for f, _, _ in wanted]:
        raise ValueError(f"{lesson.name} has the exercise stubs {[s.function for s in stubs]}, but EXERCISES in "
                         f"tools/make_assignments.py lists {[f for f, _, _ in wanted]}: update the table")
    title, texts = exercise_texts(lesson)
    total = sum(points for _, _, points in wanted)
    exercises = ", ".join(f"exercise {s.number} (`{s.function}`, {_points(p)})" for s, (_, _, p) in zip(stubs, wanted))
    header = (
        f"# Assignment: {title}\n\n"
        f"The coding exercises of lesson {number}, `notebooks/{lesson.name}` in the course's repository: "
        f"{exercises}; {_points(total)} in all. Work through the lesson first: the exercises use its "
        "sections and its notation. Questions in an exercise's text about the lesson's own variables or figures "
        "belong to the lesson notebook and are not graded here.\n\n"
        "Write each function where it says `# YOUR CODE HERE` and run its cell: the checker below the function, "
        "the same one as in the lesson, runs it on targeted cases and explains what went wrong. When you submit, "
        "the autograder runs that checker again, and the exercise earns its points only if every case passes; "
        "your feedback shows the checker's report. A function that calls poolviz's own implementation of the "
        "exercise fails the check (its report says which calls are allowed). Do not rename the functions or "
        "change their arguments, and run the whole notebook top to bottom (Restart & Run All) before you submit."
    )
    cells = [_cell("markdown", header, "header")]
    imports, bodies = [], []
    for stub, (_, module, points) in zip(stubs, wanted):
        needed, body = solution_parts(stub, module)
        imports += needed
        bodies.append(body)
    cells.append(_cell("code", _setup_imports(imports, sorted({s.checker for s in stubs})), "setup"))
    for stub, (_, _, points), body in zip(stubs, wanted, bodies):
        ex = f"ex{stub.number}"
        cells.append(_cell("markdown", f"## Exercise {stub.number} ({_points(points)})\n\n{texts[stub.number]}",
                           f"{ex}-text"))
        solution = "\n".join([stub.header, "    ### BEGIN SOLUTION", *body, "    ### END SOLUTION", "", "",
                              stub.check])
        cells.append(_cell("code", solution, f"{ex}-{stub.function}".replace("_", "-"), solution=True, locked=False))
        tests = (
            f"# Graded ({_points(points)}): the autograder runs {stub.checker} on your {stub.function}; every case must pass.\n"
            "### BEGIN HIDDEN TESTS\n"
            f"from poolviz.exercises import {stub.checker} as _checker\n\n"
            f"_report = _checker({stub.function})\n"
            "print(_report)\n"
            f'assert _report.passed, "{stub.checker} did not pass: its report is printed above"\n'
            "### END HIDDEN TESTS"
        )
        cells.append(_cell("code", tests, f"{ex}-{stub.function}-tests".replace("_", "-"), grade=True, points=points))
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": KERNELSPEC, "language_info": {"name": "python"},
        "poolviz": {"generated_by": "tools/make_assignments.py", "lesson": f"notebooks/{lesson.name}"}})
    nb.nbformat_minor = 5
    nbformat.validate(nb)
    return lesson.stem, nbformat.writes(nb) + "\n"


def build_all() -> dict[Path, str]:
    """Every source notebook this script writes: path -> text."""
    files = {}
    for number in EXERCISES:
        name, text = build_assignment(number)
        files[SOURCE / name / NOTEBOOK_NAME] = text
    return files


def differences(files: dict[Path, str]) -> list[str]:
    """What differs between ``files`` and classroom/source/ on disk (missing, changed, or not built any more)."""
    found = []
    for path, text in files.items():
        if not path.is_file():
            found.append(f"missing: {path.relative_to(ROOT)}")
        elif path.read_text(encoding="utf-8") != text:
            found.append(f"out of date: {path.relative_to(ROOT)}")
    on_disk = set(SOURCE.glob("*/*.ipynb")) if SOURCE.is_dir() else set()
    found += [f"not built by this script: {p.relative_to(ROOT)}" for p in sorted(on_disk - set(files))]
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a rebuild would change classroom/source/")
    args = parser.parse_args(argv)
    if not SOLUTIONS.is_dir():
        print("notebooks/solutions/ is not in this copy: the assignments are built from the worked solutions.",
              file=sys.stderr)
        return 2
    files = build_all()
    if args.check:
        found = differences(files)
        for line in found:
            print(line)
        if found:
            print("run: python tools/make_assignments.py", file=sys.stderr)
        return 1 if found else 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
