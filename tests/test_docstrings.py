"""Every public name keeps a complete NumPy-style docstring, and its examples run.

``docs/tools/check_docstrings.py --strict`` is the rule (functions: Parameters naming
every argument, Returns, Raises, Examples; classes: Parameters or Attributes, Examples;
exceptions: Examples); this file runs it in the ordinary suite, without Sphinx, so a
new public name without its sections fails here first. The examples themselves run
under ``pytest --doctest-modules``; the last test makes sure each public docstring is
one that run collects from the module that defines it (an object whose ``__module__``
is rewritten, as the errors' is, would otherwise be skipped without a word).
"""

from __future__ import annotations

import doctest
import importlib.util
import inspect
import pkgutil
import sys
from pathlib import Path

import pytest

import symnorm

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def checker():
    path = ROOT / "docs" / "tools" / "check_docstrings.py"
    spec = importlib.util.spec_from_file_location("check_docstrings", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_docstrings"] = module
    spec.loader.exec_module(module)
    return module


def test_no_public_name_has_a_docstring_gap(checker, capsys) -> None:
    results = checker.check_module("symnorm")
    assert len(results) == len(symnorm.__all__)
    gaps = [r.line() for r in results if not r.ok]
    assert not gaps, "public names with docstring gaps:\n" + "\n".join(gaps)
    assert checker.main(["--strict"]) == 0
    assert f"0 of {len(symnorm.__all__)} public names have docstring gaps" in \
        capsys.readouterr().out


def test_the_check_finds_what_is_missing(checker) -> None:
    def documented(f, wrt, *, check=True, _cache=None, **options):
        """Derive.

        Parameters
        ----------
        f, wrt : object
            What and with respect to what.
        check : bool
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
        >>> 1
        1
        """

    def undocumented_check(f, check=True):
        """Derive.

        Parameters
        ----------
        f : object
            What.

        Returns
        -------
        object
            The result.

        Examples
        --------
        >>> 1
        1
        """

    ok = checker.check_object("documented", documented)
    assert ok.ok, ok.line()  # the private _cache need not be documented
    gaps = checker.check_object("undocumented_check", undocumented_check)
    assert gaps.missing == ["Raises"] and gaps.undocumented == ["check"]

    class Quiet(Exception):
        """An error without an example."""

    assert checker.check_object("Quiet", Quiet).missing == ["Examples"]


@pytest.fixture(scope="module")
def collected_docstrings() -> set[str]:
    """The docstrings with examples that ``pytest --doctest-modules`` collects from the
    modules of the package (``symnorm/__init__.py`` left out: what it holds depends on
    whether the public names were loaded before it was collected)."""
    finder, found = doctest.DocTestFinder(), set()
    for info in pkgutil.walk_packages(symnorm.__path__, "symnorm."):
        if info.name.endswith("__main__"):
            continue  # runs the command line; pytest does not collect it either
        for test in finder.find(importlib.import_module(info.name)):
            if test.examples:
                found.add(test.docstring)
    return found


@pytest.mark.parametrize("name", symnorm.__all__)
def test_public_examples_run_under_doctest_modules(name: str,
                                                   collected_docstrings: set[str]) -> None:
    obj = getattr(symnorm, name)
    assert obj.__doc__ in collected_docstrings or inspect.getdoc(obj) in collected_docstrings, (
        f"the examples of symnorm.{name} are not collected by doctest from the module "
        f"that defines it (list the object in that module's __test__)")
