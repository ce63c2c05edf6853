"""The nbgrader course in classroom/: built from the lessons and the worked solutions, never drifting from them.

The source notebooks must be exactly what ``tools/make_assignments.py`` builds now; each must pass its own
hidden tests (its solutions are the worked ones); and nbgrader's own preprocessors must leave no solution code
and no hidden test in the students' version. The whole release-submit-grade-feedback cycle is in
``test_classroom_nbgrader.py``.
"""
import ast
import contextlib
import importlib.util
import io
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import SOLUTIONS

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "classroom" / "source"

pytestmark = pytest.mark.skipif(not SOURCE.is_dir(), reason="classroom/ is not in this copy (a student handout)")


def _make_assignments():
    spec = importlib.util.spec_from_file_location("make_assignments", ROOT / "tools" / "make_assignments.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_assignments"] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def source_notebooks():
    return sorted(SOURCE.glob("*/exercises.ipynb")) if SOURCE.is_dir() else []


def solution_lines(nb) -> list[str]:
    """The code between the solution markers of every solution cell, one stripped line each (blank lines left out)."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            region = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            found += [line.strip() for line in region.split("\n") if line.strip()]
    return found


@pytest.mark.skipif(not SOLUTIONS.is_dir(), reason="notebooks/solutions/ is not in this copy: the assignments are "
                    "built from it")
def test_the_sources_are_what_make_assignments_builds_now():
    make = _make_assignments()
    found = make.differences(make.build_all())
    assert not found, "classroom/source/ has drifted from the lessons or the solutions: run " \
                      "`python tools/make_assignments.py` and commit the result\n" + "\n".join(found)


@pytest.mark.skipif(not SOLUTIONS.is_dir(), reason="notebooks/solutions/ is not in this copy")
def test_the_drift_check_can_fail():
    make = _make_assignments()
    files = make.build_all()
    changed, dropped = list(files)[:2]
    files[changed] = files[changed].replace("every case must pass", "most cases must pass")
    del files[dropped]  # a lesson whose exercises went away: its old assignment is left over
    files[make.SOURCE / "99-new" / make.NOTEBOOK_NAME] = "{}"
    assert make.differences(files) == [f"out of date: {changed.relative_to(ROOT)}",
                                       "missing: classroom/source/99-new/exercises.ipynb",
                                       f"not built by this script: {dropped.relative_to(ROOT)}"]


@pytest.mark.skipif(not SOLUTIONS.is_dir(), reason="notebooks/solutions/ is not in this copy")
def test_a_lesson_stub_missing_from_the_table_is_an_error(monkeypatch):
    make = _make_assignments()
    monkeypatch.setitem(make.EXERCISES, "05", make.EXERCISES["05"][:1])
    with pytest.raises(ValueError, match="update the table"):
        make.build_assignment("05")


def test_every_lesson_with_a_coding_exercise_has_an_assignment():
    lessons = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")
                     if "raise NotImplementedError" in p.read_text(encoding="utf-8"))
    assert sorted(p.parent.name for p in source_notebooks()) == [p.stem for p in lessons]
    assert {"02", "04", "05", "06"} <= {p.name[:2] for p in lessons}


@pytest.mark.parametrize("path", source_notebooks(), ids=lambda p: p.parent.name[:2])
def test_a_source_notebook_passes_its_own_hidden_tests(path):
    """Its code cells, run in order in one namespace (as a kernel would), with the worked solutions filled in."""
    nb = nbformat.read(path, as_version=4)
    namespace, printed = {}, io.StringIO()
    graded = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        with contextlib.redirect_stdout(printed):
            exec(compile(cell.source, f"{path.parent.name}:{cell.id}", "exec"), namespace)  # noqa: S102 (a kernel's job)
        graded += bool(cell.metadata["nbgrader"].get("grade"))
    assert graded >= 1
    assert printed.getvalue().count(": PASSED") == graded, printed.getvalue()


@pytest.mark.parametrize("path", source_notebooks(), ids=lambda p: p.parent.name[:2])
def test_a_source_notebook_is_laid_out_for_nbgrader(path):
    """Per exercise: its text, a solution cell (def, markers, check), a locked graded cell of hidden tests."""
    nb = nbformat.read(path, as_version=4)
    roles = [cell.metadata["nbgrader"] for cell in nb.cells]
    assert len({r["grade_id"] for r in roles}) == len(roles), "grade ids must be unique"
    for text, solution, tests in zip(nb.cells[2::3], nb.cells[3::3], nb.cells[4::3]):
        assert text.cell_type == "markdown" and text.source.startswith("## Exercise ")
        assert "Worked answers" not in text.source and "solutions/" not in text.source
        assert solution.metadata["nbgrader"]["solution"] and not solution.metadata["nbgrader"]["locked"]
        tree = ast.parse(solution.source)
        assert isinstance(tree.body[0], ast.FunctionDef) and tree.body[-1].value.func.id.startswith("check_")
        meta = tests.metadata["nbgrader"]
        assert meta["grade"] and meta["locked"] and meta["points"] > 0
        assert "### BEGIN HIDDEN TESTS" in tests.source and "assert _report.passed" in tests.source
        assert f"_checker({tree.body[0].name})" in tests.source


@pytest.mark.parametrize("path", source_notebooks(), ids=lambda p: p.parent.name[:2])
def test_the_students_version_has_no_solution_and_no_hidden_test(path):
    """nbgrader's own preprocessors, as generate_assignment runs them: what the students get."""
    preprocessors = pytest.importorskip("nbgrader.preprocessors")
    nb = nbformat.read(path, as_version=4)
    student, resources = nbformat.from_dict(nb), {}
    for step in (preprocessors.ClearSolutions(), preprocessors.ClearHiddenTests()):
        student, resources = step.preprocess(student, resources)
    released = "\n".join(cell.source for cell in student.cells)
    leaked = [line for line in solution_lines(nb) if len(line) > 12 and line in released]
    assert not leaked, f"solution code in the students' version: {leaked}"
    assert "BEGIN HIDDEN TESTS" not in released and "_checker(" not in released
    stubs = [cell for cell in student.cells if cell.metadata["nbgrader"]["solution"]]
    assert stubs and all("raise NotImplementedError()" in cell.source for cell in stubs)


def test_the_leak_check_can_fail():
    nb = nbformat.read(source_notebooks()[0], as_version=4)
    released = "\n".join(cell.source for cell in nb.cells)  # the teacher's version, not cleared
    assert [line for line in solution_lines(nb) if len(line) > 12 and line in released]
