"""Write a student copy of the course, without the worked solutions, for a class that does not use nbgrader.

    python tools/make_handout.py OUT          # OUT must not exist yet (or add --force to replace it)

OUT gets the lesson notebooks (their exercises are stubs that raise NotImplementedError; the checkers explain a
failure), the ``poolviz`` package, ``requirements.txt`` and ``pyproject.toml`` (so that ``python -m pip install
-r requirements.txt`` works there), the README with a note on top, the cheat sheet and the benchmarks the
notebooks cite, and the pytest plugin with which ``python -m pytest`` runs every notebook under nbval there.

Left out: the worked solutions (``notebooks/solutions/``); the teacher's material (``classroom/``, whose
assignments hold the solutions, and the tools that build it); the package's tests, whose learner-style loops
(right ones, and wrong ones built from right ones) would hand out most of the answers; CI and caches.
``poolviz`` itself holds reference implementations (the checkers compare with them); the exercises ask for
loops written the lessons' way, and the checkers fail a function that calls poolviz's own.

Zip OUT, or push it to a repository of its own for Binder or a JupyterHub.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: What a student gets: files and folders, relative to the repository's root.
INCLUDE = ["README.md", "LICENSE", "requirements.txt", "pyproject.toml", "runtime.txt", "BENCHMARKS.md", "conftest.py",
           "tests/nbval_patience.py", "notebooks", "poolviz", "docs", "benchmarks", "share"]
#: Left out of the folders above: the answers. (And what Python or Jupyter made, below.)
EXCLUDE = ["notebooks/solutions"]
JUNK = {"__pycache__", ".ipynb_checkpoints", ".hypothesis", ".pytest_cache"}

NOTE = """> **Student copy.** Made by `tools/make_handout.py`: the worked solutions (`notebooks/solutions/`) and the
> teacher's material (`classroom/`) are not included, so the notebooks' links to them lead nowhere here, and
> neither are the package's tests: `python -m pytest` runs the notebooks. Write the exercises yourself: each
> checker tells you which case fails and the likely cause.

"""


def handout_files(root: Path = ROOT) -> list[Path]:
    """The files of the student copy, relative to ``root``, sorted."""
    excluded = [root / e for e in EXCLUDE]
    files = []
    for name in INCLUDE:
        top = root / name
        candidates = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in candidates:
            if JUNK & set(path.relative_to(root).parts) or path.suffix == ".pyc":
                continue
            if any(path == e or e in path.parents for e in excluded):
                continue
            files.append(path.relative_to(root))
    return sorted(files)


def make_handout(out: Path, root: Path = ROOT) -> list[Path]:
    """Copy the student copy of ``root`` into the new folder ``out``; returns the files written (relative)."""
    files = handout_files(root)
    for rel in files:
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    readme = out / "README.md"
    readme.write_text(NOTE + readme.read_text(encoding="utf-8"), encoding="utf-8")
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the folder to write (must not exist, unless --force)")
    parser.add_argument("--force", action="store_true", help="replace OUT if it exists")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if out == ROOT or ROOT in out.parents:
        parser.error(f"{args.out} is inside the repository: write the handout somewhere else")
    if out.exists():
        if not args.force:
            parser.error(f"{args.out} exists: choose a new folder, or add --force to replace it")
        shutil.rmtree(out)
    files = make_handout(out)
    print(f"wrote {len(files)} files to {out} (no notebooks/solutions/, no classroom/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
