"""The site's JavaScript, from the npm registry: pinned versions, checked against their published hashes.

Two packages, fetched once at build time and kept in a cache folder (the site itself then asks nothing
from outside):

* ``@jupyter-widgets/html-manager`` 1.0.15 (BSD-3-Clause, Project Jupyter): ``dist/embed.js``, the widget
  manager that draws stored widget state in a page without a kernel, with the Font Awesome 5 Free fonts its
  Play buttons use (fonts: SIL OFL 1.1). The plain build, not the AMD one: no require.js.
* ``mathjax`` 3.2.2 (Apache-2.0): ``es5/tex-svg-full.js``, one file with every TeX extension and SVG output:
  nothing else to load (no font files, no extensions fetched on demand), from a server or from ``file://``.

Why fetched rather than committed: 4 MB of minified JavaScript in every clone, for a build most users never
run. The download is from a package registry, as ``pip install`` is; a machine with no network at all can
point ``--npm-cache`` at a folder holding the two ``.tgz`` files (``npm pack mathjax@3.2.2
@jupyter-widgets/html-manager@1.0.15`` fetches them).
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # npm's "dist.integrity" (sha512 of the .tgz), as published by the registry
    licence: str
    homepage: str
    files: tuple[tuple[str, str], ...]  # (path in the package, path under the site's _static/)

    @property
    def tarball(self) -> str:
        """The file name ``npm pack NAME@VERSION`` writes (``@scope/name`` becomes ``scope-name``)."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"

    @property
    def url(self) -> str:
        """Where the registry serves it (the file name without the scope)."""
        return f"https://registry.npmjs.org/{self.name}/-/{self.name.split('/')[-1]}-{self.version}.tgz"


_FONTS = ("1551f4f60c37af51121f.woff2", "7a3337626410ca2f4071.woff2", "d878b0a6a1144760244f.woff2",
          "2285773e6b4b172f07d9.woff", "bb58e57c48a3e911f15f.woff", "eeccf4f66002c6f2ba24.woff")

HTML_MANAGER = Package(
    "@jupyter-widgets/html-manager", "1.0.15",
    "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
    "BSD-3-Clause (bundled libraries: embed.js.LICENSE.txt; Font Awesome 5 Free fonts: SIL OFL 1.1)",
    "https://github.com/jupyter-widgets/ipywidgets",
    (("package/dist/embed.js", "widgets/embed.js"),
     ("package/dist/embed.js.LICENSE.txt", "widgets/embed.js.LICENSE.txt"),
     *((f"package/dist/{font}", f"widgets/{font}") for font in _FONTS)))

MATHJAX = Package(
    "mathjax", "3.2.2",
    "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
    "Apache-2.0", "https://www.mathjax.org",
    (("package/es5/tex-svg-full.js", "mathjax/tex-svg-full.js"), ("package/LICENSE", "mathjax/LICENSE")))

PACKAGES = (HTML_MANAGER, MATHJAX)


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "poolviz" / "npm"


def _checked(data: bytes, package: Package, where: str) -> bytes:
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != package.integrity:
        raise RuntimeError(f"{where} is not {package.name}@{package.version}: its sha512 differs from the one "
                           f"the registry published. Delete it and build again.")
    return data


def tarball(package: Package, cache: Path, *, offline: bool = False) -> bytes:
    """The package's ``.tgz``, from ``cache`` if there, else from the npm registry (then kept in ``cache``)."""
    path = cache / package.tarball
    if path.exists():
        return _checked(path.read_bytes(), package, str(path))
    if offline:
        raise FileNotFoundError(f"{path} is missing and --offline was given: on a machine with network, run "
                                f"`npm pack {package.name}@{package.version}` and copy the file there.")
    try:
        with urllib.request.urlopen(package.url, timeout=60) as response:
            data = response.read()
    except OSError as exc:
        raise RuntimeError(f"could not download {package.url} ({exc}). The site needs it once; on a machine "
                           f"without network, put the file in {cache} (see --npm-cache).") from exc
    _checked(data, package, package.url)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def install(static: Path, cache: Path, *, offline: bool = False) -> list[str]:
    """Unpack every package's files under ``static``; return the lines of the site's licence page."""
    lines = []
    for package in PACKAGES:
        with tarfile.open(fileobj=io.BytesIO(tarball(package, cache, offline=offline)), mode="r:gz") as tar:
            for member, target in package.files:
                out = static / target
                out.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        lines.append(f"- **{package.name} {package.version}**, {package.licence}; {package.homepage}; "
                     f"fetched from {package.url}, sha512 checked.")
    return lines
