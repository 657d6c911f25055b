"""List the public names of symnorm whose docstrings miss a NumPy-style section.

symnorm's docstrings follow the NumPy style (numpydoc's conventions, rendered by
``sphinx.ext.napoleon``): a section is a title line followed by a line of dashes::

    Parameters
    ----------
    f : sympy.Expr
        The scalar to differentiate.

What each kind of public name (``symnorm.__all__``) must have:

* a function: ``Parameters`` naming every parameter of its signature (``*args`` and
  ``**kwargs`` by those names), ``Returns`` (or ``Yields``), ``Raises`` and
  ``Examples`` with at least one ``>>>`` line;
* a class: ``Parameters`` naming every parameter of its constructor (or
  ``Attributes`` when it has none) and ``Examples`` with ``>>>``; its methods are not
  checked here;
* a parameter whose name starts with an underscore (a dataclass's private cache,
  ``_kernels``) is private: it need not be documented;
* an exception: ``Examples`` with ``>>>`` showing a call that raises it.

``>>>`` lines outside an ``Examples`` section are reported as "no Examples section"
(there is an example, not in its place); "no Examples" means there is none at all.

Google-style sections (``Args:``, ``Returns:``) do not count: the style is enforced.

Usage, from the repository root::

    python docs/tools/check_docstrings.py            # the list, then a summary; exit 0
    python docs/tools/check_docstrings.py --strict   # exit 1 while any gap is left
    python docs/tools/check_docstrings.py --json     # machine-readable
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SECTION_TITLES = {
    "Parameters", "Other Parameters", "Returns", "Yields", "Receives", "Raises", "Warns",
    "Warnings", "See Also", "Notes", "References", "Examples", "Attributes", "Methods",
}
_PARAM_LINE = re.compile(r"^(\*{0,2}[A-Za-z_][\w]*(?:\s*,\s*\*{0,2}[A-Za-z_][\w]*)*)\s*(?::.*)?$")


def sections(doc: str) -> dict[str, list[str]]:
    """The NumPy-style sections of a cleaned docstring: title -> its lines.

    >>> doc = "Sum.\\n\\nParameters\\n----------\\na : int\\n    First.\\n"
    >>> sections(doc)["Parameters"]
    ['a : int', '    First.']
    """
    lines = doc.splitlines()
    found: dict[str, list[str]] = {}
    current: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        underline = lines[i + 1].strip() if i + 1 < len(lines) else ""
        title = line.strip()
        if (title in SECTION_TITLES and not line.startswith(" ") and len(underline) >= 3
                and set(underline) == {"-"}):
            current = title
            found.setdefault(current, [])
            i += 2
            continue
        if current is not None:
            found[current].append(line)
        i += 1
    return found


def documented_parameters(lines: Iterable[str]) -> set[str]:
    """Names declared in a Parameters section (``a, b : int`` declares two)."""
    names: set[str] = set()
    for line in lines:
        if not line or line.startswith((" ", "\t")):
            continue
        m = _PARAM_LINE.match(line.strip())
        if m:
            names.update(part.strip() for part in m.group(1).split(","))
    return names


def signature_parameters(obj: Callable) -> list[str]:
    """Parameter names as the docstring must write them (``*args``, ``**kwargs``);
    ``self``, ``cls`` and private names (``_cache``) are left out.

    >>> def f(a, *args, _cache=None, **kwargs): pass
    >>> signature_parameters(f)
    ['a', '*args', '**kwargs']
    """
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    out = []
    for p in sig.parameters.values():
        if p.name in ("self", "cls") or p.name.startswith("_"):
            continue
        prefix = {inspect.Parameter.VAR_POSITIONAL: "*",
                  inspect.Parameter.VAR_KEYWORD: "**"}.get(p.kind, "")
        out.append(prefix + p.name)
    return out


@dataclass
class Gaps:
    """What one public name's docstring lacks."""

    name: str
    kind: str
    missing: list[str] = field(default_factory=list)
    undocumented: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.undocumented

    def line(self) -> str:
        parts = [f"no {s}" for s in self.missing]
        if self.undocumented:
            parts.append("Parameters misses " + ", ".join(self.undocumented))
        return f"{self.name} ({self.kind}): " + "; ".join(parts)


def kind_of(obj: object) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    return "function"


def check_object(name: str, obj: object) -> Gaps:
    """The gaps of ``obj``'s docstring under the rules of this module's docstring."""
    kind = kind_of(obj)
    gaps = Gaps(name, kind)
    found = sections(inspect.getdoc(obj) or "")
    examples = "\n".join(found.get("Examples", []))
    if kind == "function":
        params = signature_parameters(obj)
        if params and "Parameters" not in found:
            gaps.missing.append("Parameters")
        elif params:
            have = documented_parameters(found["Parameters"])
            gaps.undocumented = [p for p in params if p not in have and p.lstrip("*") not in have]
        if "Returns" not in found and "Yields" not in found:
            gaps.missing.append("Returns")
        if "Raises" not in found:
            gaps.missing.append("Raises")
    elif kind == "class":
        params = signature_parameters(obj)
        if params and "Parameters" not in found:
            gaps.missing.append("Parameters")
        elif params:
            have = documented_parameters(found["Parameters"])
            gaps.undocumented = [p for p in params if p not in have and p.lstrip("*") not in have]
        elif "Attributes" not in found:
            gaps.missing.append("Attributes")
    if ">>>" not in examples:
        # An example written outside the section still counts as one, but not as the style.
        doc = inspect.getdoc(obj) or ""
        gaps.missing.append("Examples section" if ">>>" in doc else "Examples")
    return gaps


def check_module(module_name: str = "symnorm") -> list[Gaps]:
    """One :class:`Gaps` per name of ``module.__all__``, in that order."""
    module = importlib.import_module(module_name)
    return [check_object(f"{module_name}.{n}", getattr(module, n)) for n in module.__all__]


def summary(results: Sequence[Gaps]) -> str:
    bad = [r for r in results if not r.ok]
    counts = {}
    for section in ("Parameters", "Attributes", "Returns", "Raises", "Examples"):
        n = sum(1 for r in bad if section in r.missing)
        if n:
            counts[section] = n
    outside = sum(1 for r in bad if "Examples section" in r.missing)
    partial = sum(1 for r in bad if r.undocumented)
    text = f"{len(bad)} of {len(results)} public names have docstring gaps"
    parts = [f"{n} without {s}" for s, n in counts.items()]
    if outside:
        parts.append(f"{outside} with >>> examples outside an Examples section")
    if partial:
        parts.append(f"{partial} with parameters missing from Parameters")
    if parts:
        text += ": " + ", ".join(parts)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--module", default="symnorm", help="the package to check")
    ap.add_argument("--strict", action="store_true", help="exit 1 while any gap is left")
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args(argv)
    results = check_module(args.module)
    bad = [r for r in results if not r.ok]
    if args.json:
        print(json.dumps({"summary": summary(results),
                          "gaps": [r.__dict__ for r in bad]}, indent=2))
    else:
        for r in bad:
            print(r.line())
        print(summary(results))
    return 1 if args.strict and bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main())
