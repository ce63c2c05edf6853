"""A copy of the course without the answers: the student handout has no solution code, and the repository's
tests pass with ``notebooks/solutions/`` removed (the tests that need a worked solution skip, saying why)."""
import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import NO_SOLUTIONS, SOLUTIONS

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not SOLUTIONS.is_dir() or not (ROOT / "tools" / "make_handout.py").is_file(),
                                reason="notebooks/solutions/ is not in this copy: there is nothing to leave out")


def _make_handout():
    spec = importlib.util.spec_from_file_location("make_handout", ROOT / "tools" / "make_handout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fingerprint(path: Path) -> set[str]:
    """A solution's telling lines: its code lines of 20 characters or more, without docstrings, comments, imports
    and def lines (short lines such as ``H, W = x.shape`` or ``return out`` are everywhere)."""
    source = path.read_text(encoding="utf-8")
    skip = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.FunctionDef) and ast.get_docstring(node) is not None:
            skip.update(range(node.body[0].lineno, node.body[0].end_lineno + 1))
    lines = (line.split("  #")[0].strip() for n, line in enumerate(source.split("\n"), 1) if n not in skip)
    return {line for line in lines if len(line) >= 20 and not line.startswith(("#", "import ", "from ", "def "))}


def readable_lines(path: Path) -> set[str]:
    """The stripped lines of a text file; of a notebook, of its cells' sources."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return set()
    if path.suffix == ".ipynb":
        text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
    return {line.split("  #")[0].strip() for line in text.split("\n")}


def leaks(folder: Path) -> list[str]:
    """Files of ``folder`` holding 40% or more of a worked solution's telling lines (the solutions with 3 or more)."""
    prints = {p.name: fingerprint(p) for p in sorted(SOLUTIONS.glob("*.py")) if p.name != "__init__.py"}
    prints = {name: lines for name, lines in prints.items() if len(lines) >= 3}
    assert len(prints) >= 8, f"the leak check has too few solutions to look for: {sorted(prints)}"
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        have = readable_lines(path)
        for name, lines in prints.items():
            share = len(lines & have) / len(lines)
            if share >= 0.4:
                found.append(f"{path.relative_to(folder)} holds {share:.0%} of {name}")
    return found


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    out = tmp_path_factory.mktemp("handout") / "poolviz-course"
    _make_handout().make_handout(out)
    return out


def test_the_handout_has_the_course_and_no_answers(handout):
    lessons = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    assert sorted(p.name for p in (handout / "notebooks").glob("*.ipynb")) == lessons
    for needed in ("README.md", "requirements.txt", "pyproject.toml", "poolviz/__init__.py",
                   "poolviz/exercises/__init__.py", "docs/cheat-sheet.md"):
        assert (handout / needed).is_file(), needed
    assert "Student copy" in (handout / "README.md").read_text(encoding="utf-8")
    names = {p.relative_to(handout).as_posix() for p in handout.rglob("*")}
    assert not any(n.startswith(("notebooks/solutions", "classroom", ".git", ".ci")) for n in names)
    assert not any(re.search(r"answers_\d\d\.md$|__pycache__|\.pyc$", n) for n in names)
    assert not any(n.startswith("tests/test_") for n in names), "the tests hold learner-style right answers"


def test_the_handout_holds_no_solution_code(handout):
    assert leaks(handout) == []


def test_the_leak_check_finds_a_solution(tmp_path):
    (tmp_path / "notes.py").write_text((SOLUTIONS / "safe_step.py").read_text(encoding="utf-8"), encoding="utf-8")
    lesson = json.loads((ROOT / "notebooks" / "05-overlap-padding-stride-dilation.ipynb").read_text(encoding="utf-8"))
    lesson["cells"].append({"cell_type": "code", "execution_count": None, "id": "pasted", "metadata": {},
                            "outputs": [], "source": (SOLUTIONS / "output_size.py").read_text(encoding="utf-8")})
    (tmp_path / "05.ipynb").write_text(json.dumps(lesson), encoding="utf-8")
    assert leaks(tmp_path) == ["05.ipynb holds 100% of output_size.py", "notes.py holds 100% of safe_step.py"]


def test_make_handout_refuses_to_overwrite(tmp_path):
    script = ROOT / "tools" / "make_handout.py"
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "exists" in done.stderr


# The test modules that use the worked solutions (every other one runs unchanged without them). Tests that use
# none and are slow (property tests, PyTorch's import) are left out of the run below to keep it short; the whole
# suite runs them anyway.
SOLUTION_TESTS = sorted(p.name for p in (ROOT / "tests").glob("test_*.py")
                        if re.search(r"^from solutions|worked_solution\(|require_solutions\(\)",
                                     p.read_text(encoding="utf-8"), re.M))
SLOW_WITHOUT_SOLUTIONS = ["test_the_mistake_models_switched_off_are_the_reference_loops",
                          "test_the_tie_mistakes_are_the_reference_tie_rules",
                          "test_the_placement_and_slicing_mistakes_are_what_numpy_does",
                          "test_the_cases_expect_pytorchs_gradient", "test_the_cases_agree_with_pytorch",
                          "test_the_expected_answers_are_pytorchs", "test_the_switches_of_the_cases_are_pytorchs"]


def test_the_tests_pass_without_the_solutions(tmp_path):
    """A copy of the repository without notebooks/solutions/: pytest there, on every test module that uses one."""
    assert {"test_solutions.py", "test_exercises.py", "test_answers.py"} <= set(SOLUTION_TESTS) | {"test_answers.py"}
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", ".hypothesis", ".pytest_cache", "*.egg-info", "classroom", "solutions"))
    assert not (copy / "notebooks" / "solutions").exists() and (copy / "notebooks").is_dir()
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1")
    files = [f"tests/{name}" for name in [*SOLUTION_TESTS, "test_answers.py"]]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *files,
         "-k", " and ".join(f"not {name}" for name in SLOW_WITHOUT_SOLUTIONS)],
        cwd=copy, env=env, capture_output=True, text=True, timeout=600, check=False)
    summary = done.stdout.strip().split("\n")[-1]
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert re.search(r"\d+ passed", summary) and re.search(r"\d+ skipped", summary), summary
    assert "failed" not in summary and "error" not in summary, summary
    assert NO_SOLUTIONS in done.stdout
    skipped = [line for line in done.stdout.split("\n") if line.startswith("SKIPPED")]
    assert all("notebooks/solutions/ is not in this copy" in line for line in skipped), skipped
