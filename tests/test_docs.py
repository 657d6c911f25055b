"""The documentation site builds, documents every public name, and has no broken links.

The site is built once per test run, as CI and the README build it
(``python -m sphinx -W -b html docs OUT``: warnings are errors), into a temporary folder
with an empty jupyter-cache, so every notebook and every page with code cells is
executed against this checkout. Then:

* every name of ``symnorm.__all__`` is listed in the API reference and has a page with
  its autodoc entry;
* every relative link, image and script of every page points to a file of the build, and
  every ``#anchor`` to an element of the target page (external links are not fetched:
  CI has no network); no page loads anything from a CDN;
* every formula of the site renders in MathJax without a TeX error (with headless
  Chromium, where it is installed);
* the plain ``python`` blocks of the pages (examples the build shows but does not run)
  run as written, where the libraries they import are installed;
* ``docs/tools/check_docstrings.py`` enforces the NumPy docstring style.

Marked ``docs``: ``python -m pytest -m docs`` runs only these, ``-m "not docs"`` skips them.
"""

from __future__ import annotations

import doctest
import html
import html.parser
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("sphinx", reason="Sphinx is not installed: pip install '.[docs]'")

import symnorm  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
pytestmark = pytest.mark.docs


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, DOCS / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# -- the build ---------------------------------------------------------------------------

class Site:
    def __init__(self, out: Path, log: str, seconds: float) -> None:
        self.out, self.log, self.seconds = out, log, seconds

    def pages(self) -> list[Path]:
        return sorted(p for p in self.out.rglob("*.html")
                      if "_static" not in p.relative_to(self.out).parts)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    tmp = tmp_path_factory.mktemp("docs")
    out = tmp / "html"
    env = dict(os.environ, SYMNORM_DOCS_JUPYTER_CACHE=str(tmp / "jupyter_cache"))
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-b", "html", "-d", str(tmp / "doctrees"),
         str(DOCS), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"sphinx -W failed ({seconds:.0f} s):\n{log[-8000:]}"
    return Site(out, log, seconds)


def test_build_succeeds_with_warnings_as_errors(site: Site) -> None:
    assert "build succeeded" in site.log
    for page in ("index", "getting-started", "guide/kernels", "reference/cli", "api/index",
                 "architecture", "benchmarks", "benchmark-scripts", "changelog",
                 "contributing"):
        assert (site.out / f"{page}.html").is_file(), page
    print(f"documentation built in {site.seconds:.1f} s")


def test_notebooks_are_rendered_with_their_outputs(site: Site) -> None:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for nb in notebooks:
        page = (site.out / "notebooks" / f"{nb.stem}.html").read_text(encoding="utf-8")
        assert "cell_output" in page, f"{nb.name}: rendered without outputs"
    plots = list((site.out / "_images").glob("*.png"))
    assert len(plots) >= len(notebooks), "the notebooks' plots are missing"


# -- the API reference -------------------------------------------------------------------

def test_every_public_name_is_in_the_api_reference(site: Site) -> None:
    index = (site.out / "api" / "index.html").read_text(encoding="utf-8")
    missing_from_index, missing_pages = [], []
    for name in symnorm.__all__:
        pages = list((site.out / "api").glob(f"*/{name}.html"))
        if not re.search(rf'href="[^"]*/{re.escape(name)}\.html#symnorm\.{re.escape(name)}"',
                         index):
            missing_from_index.append(name)
        if len(pages) != 1 or f'id="symnorm.{name}"' not in pages[0].read_text("utf-8"):
            missing_pages.append(name)
    assert not missing_from_index, f"not listed in api/index.html: {missing_from_index}"
    assert not missing_pages, f"no page with an autodoc entry: {missing_pages}"


def test_api_pages_are_generated_from_all(tmp_path: Path) -> None:
    apipages = _load_tool("apipages")
    written = apipages.write_api_pages(symnorm, tmp_path)
    names = {p.stem for p in written if p.name != "index.rst"}
    assert names == set(symnorm.__all__)
    (tmp_path / "functions" / "no_longer_public.rst").write_text("stale")
    apipages.write_api_pages(symnorm, tmp_path)
    assert not (tmp_path / "functions" / "no_longer_public.rst").exists()
    grad = (tmp_path / "functions" / "grad.rst").read_text()
    assert ".. autofunction:: grad" in grad
    assert ":show-inheritance:" in (tmp_path / "exceptions" / "DomainError.rst").read_text()


def test_cli_reference_is_generated_from_the_parser(site: Site) -> None:
    from symnorm.cli import build_parser

    page = (site.out / "reference" / "cli.html").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page)))
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert len(sub.choices) >= 9
    for command, subparser in sub.choices.items():
        assert f"symnorm {command} [-h]" in text, command
        for action in subparser._actions:
            if action.__class__.__name__ == "_HelpAction":
                continue
            for option in action.option_strings:
                assert option in text, f"symnorm {command} {option}"


# -- links -------------------------------------------------------------------------------

class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        for key in ("href", "src"):
            if a.get(key) and tag in ("a", "link", "img", "script", "iframe", "source"):
                self.refs.append((tag, a[key]))


def _parse(path: Path, cache: dict[Path, _Links]) -> _Links:
    if path not in cache:
        parser = _Links()
        parser.feed(path.read_text(encoding="utf-8"))
        cache[path] = parser
    return cache[path]


def test_internal_links_and_anchors_resolve(site: Site) -> None:
    cache: dict[Path, _Links] = {}
    broken, remote_assets = [], []
    for page in site.pages():
        for tag, ref in _parse(page, cache).refs:
            parts = urlsplit(ref)
            if parts.scheme or ref.startswith("//"):
                if tag in ("script", "link", "img") and parts.scheme in ("http", "https"):
                    remote_assets.append(f"{page.relative_to(site.out)}: {ref}")
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path))
            target = target.resolve()
            where = f"{page.relative_to(site.out)}: {ref}"
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(where)
            elif parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in _parse(target, cache).ids:
                    broken.append(where + " (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken[:50])
    assert not remote_assets, "pages load remote assets:\n" + "\n".join(remote_assets)


# -- mathematics -------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium")
_MATH = re.compile(r'<(span|div) class="math[^"]*"[^>]*>(.*?)</\1>', re.S)
MATH_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<script type="text/x-mathjax-config">
window.texErrors = [];
MathJax.Hub.Config(CONFIG);
MathJax.Hub.Config({TeX: {noErrors: {disabled: true}, noUndefined: {disabled: true}}});
MathJax.Hub.Register.MessageHook("TeX Jax - parse error",
  function (m) { window.texErrors.push(m[1]); });
MathJax.Hub.Register.MessageHook("Math Processing Error",
  function (m) { window.texErrors.push("processing error " + m[2]); });
MathJax.Hub.Queue(function () {
  var out = document.createElement("pre"); out.id = "result";
  out.textContent = "RENDERED " + MathJax.Hub.getAllJax().length + " ERRORS " +
    (window.texErrors.length + document.querySelectorAll(".mjx-merror").length) +
    " " + window.texErrors.join(" | ");
  document.body.insertBefore(out, document.body.firstChild);
});
</script>
<script src="MATHJAX"></script></head><body>BODY</body></html>"""


@pytest.mark.skipif(CHROMIUM is None, reason="needs a headless chromium (Debian: chromium)")
def test_every_formula_renders_in_mathjax(site: Site, tmp_path: Path) -> None:
    import json

    conf_config = _mathjax2_config()
    formulas: dict[str, str] = {}
    for page in site.pages():
        for _tag, body in _MATH.findall(page.read_text(encoding="utf-8")):
            formulas.setdefault(body, str(page.relative_to(site.out)))
    assert len(formulas) > 100, "hardly any mathematics found in the built pages"
    body = "\n".join(f'<div class="math">{m}</div>' for m in formulas)
    mathjax = site.out / "_static" / "mathjax" / "MathJax.js"
    page = tmp_path / "math.html"
    page.write_text(MATH_PAGE.replace("CONFIG", json.dumps(conf_config))
                    .replace("MATHJAX", mathjax.as_uri() + "?config=TeX-AMS_CHTML")
                    .replace("BODY", body), encoding="utf-8")
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--allow-file-access-from-files", "--virtual-time-budget=120000", "--dump-dom",
         page.as_uri()], capture_output=True, text=True, timeout=300).stdout
    result = re.search(r'<pre id="result">([^<]*)', dom)
    assert result is not None, "MathJax did not finish"
    assert result.group(1).startswith(f"RENDERED {len(formulas)} ERRORS 0"), (
        f"{len(formulas)} formulas: {result.group(1)[:2000]}")
    print(f"{len(formulas)} distinct formulas rendered by MathJax without an error")


def _mathjax2_config() -> dict:
    """``mathjax2_config`` of docs/conf.py, read without running the configuration."""
    import ast

    tree = ast.parse((DOCS / "conf.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "mathjax2_config" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("docs/conf.py sets no mathjax2_config")


# -- code blocks that the build shows but does not run ------------------------------------

def _python_blocks() -> list[tuple[str, str]]:
    blocks = []
    for page in sorted(DOCS.rglob("*.md")):
        rel = page.relative_to(DOCS)
        if rel.parts[0] in ("_build", "api", "notebooks"):
            continue
        for i, code in enumerate(re.findall(r"^```python\n(.*?)^```", page.read_text(
                encoding="utf-8"), re.S | re.M)):
            blocks.append((f"{rel}#{i}", code))
    return blocks


BLOCKS = _python_blocks()
OPTIONAL = ("jax", "torch", "dask", "distributed", "numba", "cupy")


def test_pages_have_python_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", [c for _, c in BLOCKS], ids=[i for i, _ in BLOCKS])
def test_python_block_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for module in OPTIONAL:
        if re.search(rf"^\s*(import|from) {module}\b", code, re.M) or \
                re.search(rf"^\s*import .*\b{module}\b", code, re.M):
            pytest.importorskip(module)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "documentation block", "exec"), {"__name__": "__docs__"})


# -- the docstring checker -----------------------------------------------------------------

def _numpy_style(f, wrt, *, check=True, **options):
    """Derive something.

    Parameters
    ----------
    f, wrt : object
        What and with respect to what.
    check : bool, optional
        Check it.
    **options
        Passed on.

    Returns
    -------
    object
        The result.

    Raises
    ------
    ValueError
        Never.

    Examples
    --------
    >>> 1 + 1
    2
    """


def _google_style(f, wrt):
    """Derive something.

    Args:
        f: What.
        wrt: With respect to what.

    Returns:
        The result.

    Raises:
        ValueError: never.

    Example:
        >>> 1 + 1
        2
    """


def _half_documented(f, wrt):
    """Derive something.

    >>> 1 + 1
    2

    Parameters
    ----------
    f : object
        What.
    """


def test_docstring_checker_enforces_numpy_style(capsys: pytest.CaptureFixture) -> None:
    checker = _load_tool("check_docstrings")
    assert checker.check_object("good", _numpy_style).ok
    google = checker.check_object("google", _google_style)
    assert google.missing == ["Parameters", "Returns", "Raises", "Examples section"]
    half = checker.check_object("half", _half_documented)
    assert half.missing == ["Returns", "Raises", "Examples section"]
    assert half.undocumented == ["wrt"]
    assert "Parameters misses wrt" in half.line()
    assert doctest.testmod(checker).failed == 0

    results = checker.check_module("symnorm")
    assert [r.name for r in results] == [f"symnorm.{n}" for n in symnorm.__all__]
    assert checker.main([]) == 0
    gaps = any(not r.ok for r in results)
    assert checker.main(["--strict"]) == (1 if gaps else 0)
    printed = capsys.readouterr().out
    assert "public names have docstring gaps" in printed
