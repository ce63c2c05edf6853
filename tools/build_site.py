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
        body = pages.rewrite_links(body, path, self.targets,
                                   solutions_page=None if self.with_solutions else "solutions.html")
        target = self.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
        self.counts["pages"] += 1


def _nav(entry, up=""):
    return {"href": up + entry["page"], "title": entry["title"]} if entry else None


#: The marker of a folder this script built: only such a folder (or an empty one) is replaced by a new build.
MARKER = ".poolviz-site"


def _index_markdown(course, extras, licences) -> str:
    lines = ["# poolviz: backprop through pooling, as a course you can run", "",
             "*Does max pooling change how backpropagation is done, compared with averaging?* These pages are the "
             "course's notebooks as stored, outputs included: read them here, anywhere, with no network. The "
             "kernel-free explorers move here too; the live ones need Python: install the course as its README "
             "says and run `python -m jupyter lab notebooks/01-start-here.ipynb`.", "",
             f"**Start here: [{course[0]['title']}]({course[0]['page']}) \u2192**", ""]
    part = None
    for entry in course:
        if entry["part"] != part:
            part = entry["part"]
            lines += ["", f"## {part}", "", "| notebook | what you learn |", "| --- | --- |"]
        lines.append(f"| [{entry['title']}]({entry['page']}) | {entry['summary']} |")
    lines += ["", "## Also here", ""] + [f"- [{title}]({href})" for title, href in extras]
    lines += ["", '<h2 id="licences">Licences</h2>', "",
              "The course: MIT ([`_static/LICENSE-poolviz.txt`](_static/LICENSE-poolviz.txt)). The pages use, served "
              "from this site, with their licences beside them:", "", *licences,
              "- Font Awesome Free 5.15.4's icon fonts, bundled in embed.js: SIL OFL 1.1 "
              "([`_static/widgets/FONTS-LICENSE.txt`](_static/widgets/FONTS-LICENSE.txt)).",
              "- nbconvert's lab page styles (BSD-3-Clause, Project Jupyter): "
              "[`_static/lab/LICENSE`](_static/lab/LICENSE)."]
    return "\n".join(lines) + "\n"


def _check_inputs() -> None:
    """Refuse early, in words, when the course's files the site is built from are not here."""
    for need in (ROOT / "README.md", ROOT / "docs" / "cheat-sheet.md", ROOT / "notebooks"):
        if not need.exists():
            raise FileNotFoundError(f"{need} is missing: the site is built from a checkout of the course "
                                    "(README.md, docs/cheat-sheet.md, notebooks/).")


def _prepare_out(out: Path) -> Path:
    """A fresh folder beside ``out`` to build in (swapped in at the end), after checking ``out`` may be replaced."""
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise FileExistsError(f"{out} exists, is not empty and was not built by this script: choose another --out "
                              "(a new build replaces its folder).")
    building = out.with_name(out.name + ".building")
    if building.exists():
        shutil.rmtree(building)
    building.mkdir(parents=True)
    return building


def _swap_in(building: Path, out: Path) -> None:
    (building / MARKER).write_text("built by tools/build_site.py; a new build replaces this folder\n")
    if out.exists():
        old = out.with_name(out.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        out.rename(old)
        building.rename(out)
        shutil.rmtree(old)
    else:
        building.rename(out)


def _licences(static: Path) -> None:
    """Each licence beside what it covers (the npm packages' own files come with them)."""
    shutil.copyfile(ROOT / "LICENSE", static / "LICENSE-poolviz.txt")
    shutil.copyfile(KIT / "static" / "FONTS-LICENSE.txt", static / "widgets" / "FONTS-LICENSE.txt")
    _package_licence("ipywidgets", static / "widgets" / "LICENSE", "https://github.com/jupyter-widgets/ipywidgets")
    _package_licence("nbconvert", static / "lab" / "LICENSE", "https://github.com/jupyter/nbconvert")


def _solution_pages(site, solutions, course) -> list:
    """The worked answers and solutions, each linked back to its notebook and to the list of them all."""
    by_number = {entry["file"][:2]: entry for entry in course}
    for path in solutions:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".md":
            nb = pages.markdown_notebook(text, f"{path.stem} \u00b7 poolviz course")
        else:
            nb = pages.code_notebook(text, f"{path.name} \u00b7 poolviz course",
                                     f"# `notebooks/solutions/{path.name}`\n\nA worked solution (tested against "
                                     "poolviz's reference in `tests/`).")
        notebook = by_number.get(path.stem.removeprefix("answers_")) if path.stem.startswith("answers_") else None
        site.page(nb, f"solutions/{path.stem}.html", prev=_nav(notebook, "../"),
                  next_={"href": "index.html", "title": "all worked answers and solutions"})
    listing = "\n".join(f"- [{p.name}]({p.stem}.html)" for p in solutions)
    site.page(pages.markdown_notebook(f"# Worked answers and solutions\n\nTry each exercise first.\n\n{listing}\n",
                                      "Worked answers and solutions \u00b7 poolviz course"), "solutions/index.html")
    return [("Worked answers and solutions (try the exercises first)", "solutions/index.html")]


def build(out: Path, *, with_solutions: bool = True, npm_cache: Path | None = None, offline: bool = False) -> dict:
    """Build the site into ``out`` (replaced once the build succeeded); return pages, explorers, bytes, seconds."""
    start = time.perf_counter()
    _check_inputs()
    folder = ROOT / "notebooks" / "solutions"
    if with_solutions and not folder.is_dir():
        print(f"note: {folder} is not in this copy: building without the worked solutions (as --no-solutions)")
        with_solutions = False
    building = _prepare_out(out)
    try:
        static = building / "_static"
        static.mkdir()
        licences = assets.install(static, npm_cache or assets.default_cache(), offline=offline)
        _lab_css(static)
        shutil.copyfile(KIT / "static" / "site.css", static / "site.css")
        _licences(static)
        site = Site(building, with_solutions)
        counts = _pages(site, with_solutions, licences)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)  # the previous site, if any, stays as it was
        raise
    _swap_in(building, out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {**counts, "bytes": size, "seconds": time.perf_counter() - start}


def _pages(site, with_solutions: bool, licences) -> dict:
    course = contents(ROOT / "README.md")
    for entry in course:
        entry["page"] = entry["file"].replace(".ipynb", ".html")
        site.targets[entry["file"]] = entry["page"]
    site.targets["cheat-sheet.md"] = "cheat-sheet.html"
    cheat = {"page": "cheat-sheet.html", "title": "the cheat sheet"}
    solutions = []
    if with_solutions:
        solutions = [p for p in sorted((ROOT / "notebooks" / "solutions").glob("*.*"))
                     if p.suffix in (".md", ".py") and p.name != "__init__.py"]
    for path in solutions:
        site.targets[path.name] = f"solutions/{path.stem}.html"
    for i, entry in enumerate(course):
        nb = nbformat.read(ROOT / "notebooks" / entry["file"], as_version=4)
        nb, counts = pages.prepare(nb, f"notebooks/{entry['file']}")
        nb.metadata["title"] = f"{entry['title']} \u00b7 poolviz course"
        for key, value in counts.items():
            site.counts[key] += value
        site.page(nb, entry["page"], prev=_nav(course[i - 1] if i else None),
                  next_=_nav(course[i + 1] if i + 1 < len(course) else cheat), source=f"notebooks/{entry['file']}")
    text = (ROOT / "docs" / "cheat-sheet.md").read_text(encoding="utf-8")
    extras = [("The cheat sheet: backprop through pooling on one page", "cheat-sheet.html")]
    if solutions:
        extras += _solution_pages(site, solutions, course)
    else:
        site.page(pages.markdown_notebook(
            "# Worked solutions\n\nThis copy of the site leaves out the worked answers and solutions. They are in "
            "the course's folder, `notebooks/solutions/`: ask your teacher.\n", "Solutions \u00b7 poolviz course"),
            "solutions.html")
    after = {"href": "solutions/index.html", "title": "worked answers and solutions"} if solutions else None
    site.page(pages.markdown_notebook(text, "Cheat sheet \u00b7 poolviz course"), "cheat-sheet.html",
              prev=_nav(course[-1]), next_=after)
    site.page(pages.markdown_notebook(_index_markdown(course, extras, licences), "poolviz course"), "index.html")
    return site.counts


def _package_licence(dist: str, target: Path, home: str) -> None:
    """The licence file of the installed Python package ``dist`` (its repository's), or a line naming it."""
    for file in importlib.metadata.distribution(dist).files or []:
        if file.name == "LICENSE":
            shutil.copyfile(file.locate(), target)
            return
    target.write_text(f"BSD-3-Clause, Copyright (c) Project Jupyter Contributors: {home}\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "site", help="where to build (replaced); default site/")
    parser.add_argument("--no-solutions", action="store_true", help="leave out the worked answers and solutions")
    parser.add_argument("--npm-cache", type=Path, default=None,
                        help=f"folder of the pinned .tgz files (default {assets.default_cache()})")
    parser.add_argument("--offline", action="store_true", help="never download: the .tgz files must be in the cache")
    args = parser.parse_args(argv)
    try:
        report = build(args.out, with_solutions=not args.no_solutions, npm_cache=args.npm_cache,
                       offline=args.offline)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"build_site: {exc}", file=sys.stderr)
        return 2
    print(f"built {args.out}: {report['pages']} pages, {report['live']} live explorers shown as pictures, "
          f"{report['kernel_free']} kernel-free explorers, {report['bytes'] / 1e6:.1f} MB, "
          f"{report['seconds']:.1f} s. Open {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
