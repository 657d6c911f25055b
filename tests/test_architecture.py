"""The layers of ARCHITECTURE.md hold: imports only go down, no import circle, no import of
symnorm's own modules hidden in a function, and ``import symnorm`` stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "symnorm"

grimp = pytest.importorskip("grimp", reason="grimp is not installed (pip install grimp)")

# The deferred imports of symnorm modules, and why: ``symnorm --help`` and ``symnorm
# --version`` answer without loading SymPy (the commands load it); the numba loops are
# compiled and cached at the top of their module, which imports numba, an optional library.
ALLOWED_DEFERRED = {("symnorm.cli", "symnorm.cli.commands"),
                    ("symnorm.kernels.backends.numba_kernels",
                     "symnorm.kernels.backends.numba_loops")}
# Optional array libraries, imported where a kernel first needs them.
BACKENDS = ("jax", "torch", "numba", "dask", "cupy")


def _graph():
    return grimp.build_graph("symnorm", cache_dir=None, exclude_type_checking_imports=True)


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_layer_contract_is_kept():
    """import-linter's `layers` contract of pyproject.toml (no ignore_imports)."""
    pytest.importorskip("importlinter", reason="import-linter is not installed")
    config = (ROOT / "pyproject.toml").read_text()
    assert "ignore_imports" not in config
    lint = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    result = subprocess.run([sys.executable, "-c", lint], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_no_import_circle():
    assert _cycles(_graph()) == []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _deferred_imports() -> set[tuple[str, str]]:
    """(importer, imported) for every import of a symnorm module inside a function."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text())
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = module.split(".")[: len(module.split(".")) - node.level
                                                   + (1 if is_package else 0)]
                        target = ".".join(base + ([node.module] if node.module else []))
                    else:
                        target = node.module or ""
                    if target.split(".")[0] != "symnorm":
                        continue
                    if node.module is None:  # from . import a, b: the modules a and b
                        found |= {(module, f"{target}.{a.name}") for a in node.names}
                    else:
                        found.add((module, target))
                elif isinstance(node, ast.Import):
                    found |= {(module, a.name) for a in node.names
                              if a.name.split(".")[0] == "symnorm"}
    return found


def test_no_symnorm_import_hidden_in_a_function():
    assert _deferred_imports() == ALLOWED_DEFERRED


def test_every_subpackage_says_what_it_holds_and_may_use():
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc.split()) >= 12, f"{init.parent.name} has no docstring"


def _fresh(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout


def test_import_symnorm_loads_no_array_backend_and_no_sympy():
    out = _fresh("import sys, symnorm; print(sorted(m for m in sys.modules "
                 f"if m.split('.')[0] in {BACKENDS + ('sympy', 'numpy')!r}))")
    assert out.strip() == "[]"


def test_a_derivation_and_its_kernel_load_no_array_backend():
    out = _fresh("import sys, numpy as np, symnorm as sn; x = sn.vector('x'); "
                 "d = sn.grad(sn.norm(x, 2), x); d.kernel()(np.ones(3)); "
                 f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({BACKENDS!r})))")
    assert out.strip() == "[]"


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_the_command_line_answers_without_sympy(flag):
    out = _fresh("import sys; from symnorm.cli import main\n"
                 "try:\n    main([" + repr(flag) + "])\nexcept SystemExit:\n    pass\n"
                 "print('sympy' in sys.modules, 'numpy' in sys.modules)")
    assert out.strip().splitlines()[-1] == "False False"


def test_public_names_are_served_lazily_from_symnorm_public():
    import symnorm
    import symnorm.public

    # the lazy table names the same names, from the same modules, as symnorm.public
    assert sorted(symnorm.__all__) == sorted(symnorm.public.__all__)
    assert len(set(symnorm.__all__)) == len(symnorm.__all__)
    imports = ast.parse((PACKAGE / "public.py").read_text())
    homes = {a.name: node.module for node in imports.body
             if isinstance(node, ast.ImportFrom) and node.level == 1 for a in node.names}
    assert symnorm._HOME_OF == homes
    for name in symnorm.__all__:
        assert getattr(symnorm, name) is getattr(symnorm.public, name)
    assert set(symnorm.__all__) <= set(dir(symnorm))
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        symnorm.nonexistent  # noqa: B018


def test_the_first_use_of_a_name_loads_its_module_only():
    # sn.grad needs the engine, the kernels and the check: not the LaTeX reader (lark),
    # verify, the notes or backprop
    out = _fresh("import sys, symnorm as sn\nx = sn.vector('x')\n"
                 "d = sn.grad(sn.norm(x, 2), x)\n"
                 "print(sorted(m for m in ('lark', 'symnorm.verify', 'symnorm.notes', "
                 "'symnorm.backprop', 'symnorm.language.latex') if m in sys.modules))")
    assert out.strip().splitlines()[-1] == "[]"


def test_a_subpackage_imported_first_does_not_hide_the_public_name():
    # ``import symnorm.check`` sets symnorm.check to the subpackage; the public function
    # of that name must still be what ``sn.check`` is, even before any other public name
    # has been used (the lazy __init__ would otherwise never be asked for it)
    import symnorm

    names = {p.stem for p in PACKAGE.iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.stem != "__init__"}
    assert set(symnorm._SHADOWED) == names & set(symnorm.__all__)
    imports = "; ".join(f"import symnorm.{n}" for n in symnorm._SHADOWED)
    out = _fresh(f"{imports}\nimport symnorm as sn\n"
                 f"print([type(getattr(sn, n)).__name__ for n in {symnorm._SHADOWED!r}])\n"
                 "x = sn.vector('x')\n"
                 "print(sn.check(sn.norm(x, 2), x).ok, sn.verify('x/norm(x, 2)', "
                 "sn.norm(x, 2), x).ok, type(sn.backprop(sn.mlp([2, 1]), check=False)).__name__)")
    assert out.split("\n")[:2] == [str(["function"] * len(symnorm._SHADOWED)),
                                   "True True Backprop"]
