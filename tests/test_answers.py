"""Every exercise of every notebook has a worked answer in notebooks/solutions/answers_NN.md."""
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))

pytestmark = pytest.mark.skipif(not SOLUTIONS.is_dir(), reason="notebooks/solutions/ is not in this copy (a handout)")


def exercise_numbers(notebook: Path) -> list[int]:
    """The numbers of the items of the notebook's last '## Exercises' section."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    section = text[text.rfind("## Exercises"):]
    return [int(n) for n in re.findall(r"^(\d+)\. ", section, re.M)]


def answered_numbers(answers: Path) -> set[int]:
    """Numbers with an answer: a line starting '**N.' or a heading '## N.' / '## Exercise N'."""
    text = answers.read_text(encoding="utf-8")
    found = re.findall(r"^(?:\*\*(\d+)\.|#+ (?:Exercise )?(\d+)[.:])", text, re.M)
    return {int(a or b) for a, b in found}


def test_every_lesson_is_found():
    assert len(LESSONS) >= 6


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem[:2])
def test_every_exercise_has_a_worked_answer(notebook):
    numbers = exercise_numbers(notebook)
    assert numbers, f"{notebook.name} has no numbered exercises under '## Exercises'"
    answers = SOLUTIONS / f"answers_{notebook.name[:2]}.md"
    assert answers.is_file(), f"{answers.name} is missing: write a worked answer for each exercise of {notebook.name}"
    missing = sorted(set(numbers) - answered_numbers(answers))
    assert not missing, f"{answers.name} has no answer for exercise(s) {missing} of {notebook.name}"


def test_the_answer_parser_notices_a_missing_answer(tmp_path):
    answers = tmp_path / "answers_99.md"
    answers.write_text("# answers\n\n**1.** one\n\n## Exercise 3: three\n", encoding="utf-8")
    assert answered_numbers(answers) == {1, 3}
