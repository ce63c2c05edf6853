"""Build the course as a static site that works offline: ``python tools/build_site.py`` writes ``site/``.

One page per stored notebook (its outputs as stored: nothing is executed), an index with the course's table
of contents (from the README's tables), the cheat sheet, and the worked answers and solutions (leave them
out with ``--no-solutions``, e.g. for a class site: links to them then say where they are). Every page
links to the previous, the next and the contents.

The site asks for nothing outside itself: the widget manager, MathJax and their fonts are served from
``site/_static/`` (see ``tools/sitekit/assets.py``: pinned npm packages, fetched once into a cache and
checked against the registry's sha512), nbconvert's page styles are copied there, and pictures are inline.
Open ``site/index.html`` straight from disk, or serve the folder with any static server
(``python -m http.server --directory site``).

Explorers: a kernel-free one (``poolviz.widgets.static_explorer``) keeps its slider, which works in the
page; a live one (``poolviz.widgets.explore``) shows its stored picture with a note saying it needs a
kernel and how to start one. With JavaScript off, both show their picture.

Usage::

    python tools/build_site.py [--out site] [--no-solutions] [--npm-cache DIR] [--offline]
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import re
import shutil
import sys
import time
from pathlib import Path

import jupyter_core.paths
import nbformat
from nbconvert import HTMLExporter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sitekit import assets, pages  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KIT = Path(__file__).resolve().parent / "sitekit"
_ROW = re.compile(r"^\| \[(?P<title>\d\d [^\]]+)\]\(notebooks/(?P<file>[^)]+\.ipynb)\) \| (?P<summary>.+) \|$")


def contents(readme: Path) -> list[dict]:
    """The course's notebooks in order, from the README's tables: file, title, summary and part."""
    found, part = [], ""
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.startswith("## The course, "):
            part = line[3:].replace("The course, ", "").capitalize()
        match = _ROW.match(line)
        if match:
            found.append({**match.groupdict(), "part": part})
    if not found:
        raise ValueError(f"{readme} has no table rows like '| [01 title](notebooks/01-x.ipynb) | what |': "
                         "the site's contents come from them")
    return found


def _lab_css(static: Path) -> None:
    """nbconvert's lab page styles, copied (not inlined into every page)."""
    for base in jupyter_core.paths.jupyter_path("nbconvert", "templates"):
        folder = Path(base) / "lab" / "static"
        if (folder / "index.css").exists():
            (static / "lab").mkdir(parents=True, exist_ok=True)
            for name in ("index.css", "theme-light.css"):
                shutil.copyfile(folder / name, static / "lab" / name)
            return
    raise FileNotFoundError("nbconvert's lab template (lab/static/index.css) was not found: is nbconvert installed?")


class Site:
    def __init__(self, out: Path, with_solutions: bool):
        self.out, self.with_solutions = out, with_solutions
        self.exporter = HTMLExporter(template_name="poolviz", extra_template_basedirs=[str(KIT / "templates")])
        self.built = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        self.targets: dict[str, str] = {}  # a course file's name -> its page
        self.counts = {"pages": 0, "live": 0, "kernel_free": 0, "widgets_dropped": 0}

    def page(self, nb, path: str, *, prev=None, next_=None, source=None) -> None:
        """Export ``nb`` as the page ``path`` (relative to the site), with navigation."""
        up = "../" * path.count("/")
        resources = {"pv": {"static": f"{up}_static/", "home": f"{up}index.html", "prev": prev, "next": next_,
                            "source": source, "built": self.built},
                     "metadata": {"name": Path(path).stem}}
        body, _ = self.exporter.from_notebook_node(nb, resources=resources)
        body = pages.rewrite_links(body, path, self.targets)
        target = self.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
        self.counts["pages"] += 1


def _nav(entry, up=""):
    return {"href": up + entry["page"], "title": entry["title"]} if entry else None


def _index_markdown(course, extras, licences) -> str:
    lines = ["# poolviz: backprop through pooling, as a course you can run", "",
             "*Does max pooling change how backpropagation is done, compared with averaging?* These pages are the "
             "course's notebooks as stored, outputs included: read them here, anywhere, with no network. The "
             "kernel-free explorers move here too; the live ones need Python: install the course as its README "
             "says and run `python -m jupyter lab notebooks/01-start-here.ipynb`.", ""]
    part = None
    for entry in course:
        if entry["part"] != part:
            part = entry["part"]
            lines += ["", f"## {part}", "", "| notebook | what you learn |", "| --- | --- |"]
        lines.append(f"| [{entry['title']}]({entry['page']}) | {entry['summary']} |")
    lines += ["", "## Also here", ""] + [f"- [{title}]({href})" for title, href in extras]
    lines += ["", '<h2 id="licences">Licences</h2>', "",
              "The course: MIT. The pages use, served from this site (`_static/`), with their licences beside them:",
              "", *licences, "- nbconvert's lab page styles (BSD-3-Clause, Project Jupyter), `_static/lab/`."]
    return "\n".join(lines) + "\n"


def build(out: Path, *, with_solutions: bool = True, npm_cache: Path | None = None, offline: bool = False) -> dict:
    """Build the site into ``out`` (replaced); return what was built (pages, explorers, bytes, seconds)."""
    start = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    static = out / "_static"
    static.mkdir(parents=True)
    licences = assets.install(static, npm_cache or assets.default_cache(), offline=offline)
    _lab_css(static)
    shutil.copyfile(KIT / "static" / "site.css", static / "site.css")
    _ipywidgets_licence(static / "widgets" / "LICENSE")
    site = Site(out, with_solutions)
    course = contents(ROOT / "README.md")
    for entry in course:
        entry["page"] = entry["file"].replace(".ipynb", ".html")
        site.targets[entry["file"]] = entry["page"]
    site.targets["cheat-sheet.md"] = "cheat-sheet.html"
    solutions = sorted((ROOT / "notebooks" / "solutions").glob("*.*")) if with_solutions else []
    solutions = [p for p in solutions if p.suffix in (".md", ".py") and p.name != "__init__.py"]
    for path in solutions:
        site.targets[path.name] = f"solutions/{path.stem}.html"
    if not with_solutions:
        for name in _solution_names():
            site.targets[name] = "solutions.html"
    for i, entry in enumerate(course):
        nb = nbformat.read(ROOT / "notebooks" / entry["file"], as_version=4)
        nb, counts = pages.prepare(nb, f"notebooks/{entry['file']}")
        for key, value in counts.items():
            site.counts[key] += value
        site.page(nb, entry["page"], prev=_nav(course[i - 1] if i else None),
                  next_=_nav(course[i + 1] if i + 1 < len(course) else None), source=f"notebooks/{entry['file']}")
    cheat = (ROOT / "docs" / "cheat-sheet.md").read_text(encoding="utf-8")
    site.page(pages.markdown_notebook(cheat, "Cheat sheet"), "cheat-sheet.html")
    extras = [("The cheat sheet: backprop through pooling on one page", "cheat-sheet.html")]
    for path in solutions:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".md":
            nb = pages.markdown_notebook(text, path.stem)
        else:
            nb = pages.code_notebook(text, path.stem, f"# `notebooks/solutions/{path.name}`\n\nA worked solution "
                                     "(tested against poolviz's reference in `tests/`).")
        site.page(nb, f"solutions/{path.stem}.html")
    if solutions:
        extras.append(("Worked answers and solutions (try the exercises first)", "solutions/index.html"))
        listing = "\n".join(f"- [{p.name}]({p.stem}.html)" for p in solutions)
        site.page(pages.markdown_notebook(f"# Worked answers and solutions\n\n{listing}\n", "Solutions"),
                  "solutions/index.html")
    else:
        site.page(pages.markdown_notebook(
            "# Worked solutions\n\nThis copy of the site leaves out the worked answers and solutions. They are in "
            "the course's folder, `notebooks/solutions/`: ask your teacher.\n", "Solutions"), "solutions.html")
    site.page(pages.markdown_notebook(_index_markdown(course, extras, licences), "poolviz course"), "index.html")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {**site.counts, "bytes": size, "seconds": time.perf_counter() - start}


def _ipywidgets_licence(target: Path) -> None:
    """The ipywidgets repository's licence (BSD-3-Clause), which covers html-manager, from the installed package."""
    for file in importlib.metadata.distribution("ipywidgets").files or []:
        if file.name == "LICENSE":
            shutil.copyfile(file.locate(), target)
            return
    target.write_text("BSD-3-Clause, Copyright (c) Project Jupyter Contributors: https://github.com/jupyter-widgets/"
                      "ipywidgets/blob/main/LICENSE\n", encoding="utf-8")


def _solution_names() -> list[str]:
    folder = ROOT / "notebooks" / "solutions"
    return [p.name for p in folder.glob("*.*")] if folder.is_dir() else []


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "site", help="where to build (replaced); default site/")
    parser.add_argument("--no-solutions", action="store_true", help="leave out the worked answers and solutions")
    parser.add_argument("--npm-cache", type=Path, default=None,
                        help=f"folder of the pinned .tgz files (default {assets.default_cache()})")
    parser.add_argument("--offline", action="store_true", help="never download: the .tgz files must be in the cache")
    args = parser.parse_args(argv)
    report = build(args.out, with_solutions=not args.no_solutions, npm_cache=args.npm_cache, offline=args.offline)
    print(f"built {args.out}: {report['pages']} pages, {report['live']} live explorers shown as pictures, "
          f"{report['kernel_free']} kernel-free explorers, {report['bytes'] / 1e6:.1f} MB, "
          f"{report['seconds']:.1f} s. Open {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
