"""Sphinx configuration of the symnorm documentation.

Build from the repository root (warnings are errors)::

    python -m sphinx -W -b html docs docs/_build/html

Three things are generated at the start of every build, into folders that git ignores:

* ``docs/api/``: one page per name in ``symnorm.__all__`` and the index that lists them,
  so the reference cannot fall behind the package;
* ``docs/notebooks/``: copies of the repository's ``notebooks/*.ipynb`` (committed without
  outputs), which myst-nb executes during the build;
* ``_static/mathjax`` in the output: MathJax 2 copied from Debian's ``libjs-mathjax``
  (``/usr/share/javascript/mathjax``, or the folder named by ``SYMNORM_MATHJAX_DIR``), so
  the mathematics renders without any network access.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

# Document (and execute the notebooks against) the symnorm of this checkout.
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
sys.path.insert(0, str(DOCS / "tools"))

from apipages import write_api_pages  # noqa: E402

import symnorm  # noqa: E402

# -- Project ---------------------------------------------------------------------------

project = "symnorm"
author = "the symnorm developers"
copyright = "the symnorm developers, MIT licence"
release = version = symnorm.__version__

extensions = [
    "myst_nb",                  # MyST Markdown pages and executed notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",      # NumPy-style docstring sections
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinxarg.ext",            # the command line, from symnorm.cli.build_parser
]

exclude_patterns = ["_build", "tools", "Thumbs.db", ".DS_Store",
                    "**/.ipynb_checkpoints", "**/.jupyter_cache", "jupyter_execute"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# -- MyST and notebooks ----------------------------------------------------------------

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "attrs_inline"]
myst_heading_anchors = 3
# MathJax 2 is configured below (mathjax2_config); myst would add a MathJax 3 config.
myst_update_mathjax = False

# jupyter-cache: a page or notebook runs again only when its code changed (after a change
# to the package, build with -D nb_execution_mode=force; the test suite uses a fresh cache)
nb_execution_mode = "cache"
nb_execution_timeout = 300          # seconds per cell
nb_execution_raise_on_error = True  # a cell that raises fails the build
nb_execution_show_tb = True
nb_merge_streams = True
nb_execution_cache_path = os.environ.get(
    "SYMNORM_DOCS_JUPYTER_CACHE", str(DOCS / "_build" / ".jupyter_cache"))

# -- API reference ---------------------------------------------------------------------

autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_class_signature = "mixed"
autosummary_generate = False        # docs/tools/apipages.py writes the pages itself
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True

# -- HTML ------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"symnorm {release}"
html_static_path = ["_static"]
html_css_files = ["symnorm.css"]
html_show_sourcelink = False
html_theme_options = {"navigation_with_keys": True}

# MathJax 2.7 from Debian's libjs-mathjax, copied into _static/mathjax (see setup()).
MATHJAX_DIR = Path(os.environ.get("SYMNORM_MATHJAX_DIR", "/usr/share/javascript/mathjax"))
MATHJAX_FILES = [
    "MathJax.js",
    "config/TeX-AMS_CHTML.js",
    "extensions",
    "jax/element",
    "jax/input/TeX",
    "jax/output/CommonHTML",
    "jax/output/PreviewHTML",
    "fonts/HTML-CSS/TeX/woff",
    "fonts/HTML-CSS/TeX/otf",
    "localization/en",
]
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_CHTML"
mathjax2_config = {
    # only what Sphinx marked as math: \( \) inline, \[ \] display, no $ in prose
    "tex2jax": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processEscapes": False,
        "processEnvironments": False,
        "ignoreClass": "tex2jax_ignore|mathjax_ignore",
        "processClass": "tex2jax_process|mathjax_process|math|output_area",
    },
    "TeX": {"extensions": ["AMSmath.js", "AMSsymbols.js"]},
    "CommonHTML": {"linebreaks": {"automatic": False}},
    "messageStyle": "none",
    "menuSettings": {"zoom": "Double-Click"},
}


def _copy_mathjax(app, exception) -> None:
    """Copy the MathJax files the pages load into ``_static/mathjax`` of the output."""
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for rel in MATHJAX_FILES:
        src, dst = MATHJAX_DIR / rel, target / rel
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists() or not filecmp.cmp(src, dst, shallow=False):
                shutil.copy2(src, dst)


def _check_mathjax(app) -> None:
    if app.builder.format != "html":
        return
    missing = [rel for rel in MATHJAX_FILES if not (MATHJAX_DIR / rel).exists()]
    if missing:
        from sphinx.errors import ConfigError
        raise ConfigError(
            f"MathJax 2 not found in {MATHJAX_DIR} (missing: {', '.join(missing)}). "
            "Install Debian's libjs-mathjax (apt-get install libjs-mathjax) or point "
            "SYMNORM_MATHJAX_DIR at an unpacked MathJax 2.7.")


# -- Generated sources -----------------------------------------------------------------

def _sync_notebooks() -> None:
    """Copy ``notebooks/*.ipynb`` into ``docs/notebooks`` (only what changed)."""
    src_dir, dst_dir = ROOT / "notebooks", DOCS / "notebooks"
    dst_dir.mkdir(exist_ok=True)
    sources = {p.name: p for p in sorted(src_dir.glob("*.ipynb"))}
    for stale in dst_dir.glob("*.ipynb"):
        if stale.name not in sources:
            stale.unlink()
    for name, src in sources.items():
        dst = dst_dir / name
        if not dst.exists() or not filecmp.cmp(src, dst, shallow=False):
            shutil.copyfile(src, dst)


_sync_notebooks()
write_api_pages(symnorm, DOCS / "api")


# Files included from the repository root (ARCHITECTURE.md, benchmarks/README.md) are
# written to be read on their own, relative to the file. When they are included here, a
# link into docs/ becomes a link to that page, a link to any other repository file (a
# source file the site has no page for) is shown as its path, and a file without a top
# heading gets one, so the page has a title.
_LINK = re.compile(r"(?<!!)\[([^\]\n]+)\]\(([^)\s]+)\)")


def _prepare_included(app, relative_path, parent_docname, content) -> None:
    source = (Path(app.srcdir) / relative_path).resolve()
    if DOCS in source.parents:
        return
    here = (DOCS / parent_docname).parent

    def relink(m: re.Match) -> str:
        text, target = m.group(1), m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#", target):
            return m.group(0)           # a URL or an anchor: unchanged
        path, _, anchor = target.partition("#")
        resolved = (source.parent / path).resolve()
        if DOCS in resolved.parents and resolved.suffix in (".md", ".ipynb", ".rst"):
            rel = os.path.relpath(resolved, here).replace(os.sep, "/")
            return f"[{text}]({rel}{'#' + anchor if anchor else ''})"
        if path.strip("/") in text.strip("`").strip("/") or text.strip("`") == path:
            return text
        return f"{text} (`{path}`)"

    text = _LINK.sub(relink, content[0])
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first.startswith("# "):
        title = source.stem.replace("_", " ").title()
        text = f"# {title}\n\n{text}"
    content[0] = text


def setup(app) -> None:
    app.connect("builder-inited", _check_mathjax)
    app.connect("build-finished", _copy_mathjax)
    app.connect("include-read", _prepare_included)
