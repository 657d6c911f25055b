"""LaTeX output that compiles: escaped text, no SymPy class names, notes under the block,
and standalone documents that pdflatex compiles without an error.

The compile tests need pdflatex (``.ci/run`` installs it). Locally they are skipped when
pdflatex is missing; in CI (``CI`` set) a missing pdflatex is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import sympy as sp

import symnorm as sn
from symnorm.cli import main
from symnorm.model.atoms import Sigmoid
from symnorm.presentation.document import LatexError, compile_pdf, escape_text
from symnorm.presentation.layout import aligned_rows, break_terms, latex_note, latex_text
from symnorm.rules import NORMS

PDFLATEX = shutil.which("pdflatex")
IN_CI = bool(os.environ.get("CI"))
needs_pdflatex = pytest.mark.skipif(PDFLATEX is None and not IN_CI,
                                    reason="pdflatex is not installed (CI installs it)")

x, A, b = sn.vector("x"), sn.matrix("A"), sn.vector("b", "m")
lam, p = sn.scalar("lam", positive=True), sn.scalar("p")


def _orders() -> list:
    return [(rule, o) for rule in NORMS for o in rule.sample_orders]


def _outputs() -> list[tuple[str, object]]:
    """Everything symnorm prints as LaTeX, one object each."""
    out: list[tuple[str, object]] = []
    for rule, order in _orders():
        order = p if isinstance(order, sp.Symbol) else order
        if rule.extras.get("matrix"):  # a matrix norm: the gradient with respect to a matrix
            W = sn.matrix("W")
            out.append((f"grad {order}", sn.grad(sn.norm(W, order), W, check=False)))
            continue
        f = sn.norm(x, order)
        out.append((f"grad {order}", sn.grad(f, x, check=False)))
        if hasattr(order, "is_number") and getattr(order, "is_number", False) and order >= 1:
            out.append((f"dual {order}", sn.dual(f)))
            out.append((f"subdiff {order}", sn.subdiff(f, x)))
    out.append(("grad lasso", sn.grad(sn.norm(A * x - b, 2)**2 / 2 + lam * sn.norm(x, 1), x)))
    out.append(("grad l2 residual", sn.grad(sn.norm(A * x - b, 2), x)))
    out.append(("dual p", sn.dual(sn.norm(x, p))))
    out.append(("index notation", sn.grad(sn.norm(x, 2), x, index_notation=True)))
    out.append(("explicit components", sn.grad(sn.norm(sn.vector("y", 3), 3), sn.vector("y", 3))))
    W = sn.matrix("W")
    out.append(("sigmoid layer", sn.grad(sn.norm(Sigmoid(W * x) - b, 2)**2 / 2, W)))
    for order in (2, 3):
        out.append((f"hessian {order}", sn.hessian(sn.norm(x, order), x, check=False)))
    for order in (1, 2, sp.oo):
        out.append((f"prox {order}", sn.prox(lam * sn.norm(x, order), x)))
    out.append(("optimality", sn.optimality(sn.norm(A * x - b, 2)**2 / 2
                                            + lam * sn.norm(x, 1), x)))
    out.append(("verdict wrong", sn.verify(r"\frac{2x_1}{\|x\|_2}", sn.norm(x, 2), "x_1")))
    out.append(("verdict lines", sn.verify(r"g &= A^\top(Ax - b) \\ &= A^\top A x + b",
                                           sn.norm(A * x - b, 2)**2 / 2, x)))
    bp = sn.backprop(sn.mlp([2, 3, 2], bias=True, weight_decay=0.01), check=False)
    out.append(("backprop", bp))
    l1 = sn.backprop(sn.mlp([2, 3, 2], loss=lambda y, t: sn.norm(y - t, 1)), check=False)
    out.append(("backprop l1 loss (kink notes)", l1))
    out.append(("backprop component", bp.components(bp.params[0])))
    out.append(("backprop update rule", bp.update_rules()[0]))
    out.append(("verdict kink", sn.verify(r"\frac{x_1}{|x_1|}", sn.norm(x, 1), "x_1")))
    return out


OUTPUTS = _outputs()
SYMPY_NAMES = re.compile(r"DiagMatrix|DiagonalMatrix|HadamardProduct|HadamardPower|MatMul|"
                         r"MatAdd|MatrixElement|OneMatrix|ZeroMatrix|Identity\(|ScalarOf|"
                         r"Elementwise|Sigmoid\(|Transpose\(|\[0, 0\]")


def _text_bodies(tex: str) -> list[str]:
    bodies, start = [], 0
    while (k := tex.find(r"\text{", start)) != -1:
        depth, j = 1, k + 6
        while depth and j < len(tex):
            depth += {"{": 1, "}": -1}.get(tex[j], 0)
            j += 1
        bodies.append(tex[k + 6:j - 1])
        start = j
    return bodies


@pytest.mark.parametrize("name,obj", OUTPUTS, ids=[n for n, _ in OUTPUTS])
def test_latex_output_is_clean(name: str, obj: object) -> None:
    tex = obj.latex()  # type: ignore[attr-defined]
    assert not SYMPY_NAMES.search(tex), SYMPY_NAMES.search(tex)
    assert tex.count("{") == tex.count("}")
    assert len(re.findall(r"\\left(?![a-z])", tex)) == len(re.findall(r"\\right(?![a-z])", tex))
    for body in _text_bodies(tex):
        # no math and no character text mode misprints inside \text{}
        assert not re.search(r"[\\<>|^_$&%#~]", body), body
    for label in re.findall(r"&& (\\text\{[^}]*\})", tex):
        assert re.fullmatch(r"\\text\{\(\d+[a-z]?\)\}", label), f"a note at the right: {label}"


def test_text_escapes() -> None:
    assert latex_note("p < 1") == r"\text{p}<\text{1}"
    assert latex_note("|y|^(q-1)") == r"\vert\text{y}\vert\hat{}\text{(q-1)}"
    assert latex_text("a_b & c") == r"a}\_\text{b }\&\text{ c"
    assert escape_text("a < b | c_d ö") == r"a $<$ b $|$ c\_d ö"


def test_notes_go_under_the_block_and_long_sums_break() -> None:
    long_rhs = " + ".join(rf"\frac{{a_{k}}}{{b_{k}}} x_{{{k}}}" for k in range(30))
    tex = aligned_rows([("f", long_rhs, "a note " * 20)])
    block = tex[:tex.index(r"\end{aligned}")]
    assert "a note" not in block                      # under, not at the right
    rows = block.split(r" \\")
    assert len(rows) > 3 and all(r.strip().startswith(r"&\quad {}+") for r in rows[1:])
    assert " ".join(break_terms(long_rhs)) == long_rhs


def _compile(tmp_path: Path, tex: str, name: str = "doc") -> str:
    path = tmp_path / f"{name}.tex"
    path.write_text(tex)
    pdf = compile_pdf(path)
    assert pdf.exists() and pdf.stat().st_size > 1000
    return path.with_suffix(".log").read_text(errors="replace")


def _overfull(log: str) -> list[float]:
    return [float(v) for v in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


@needs_pdflatex
def test_pdflatex_is_installed_in_ci() -> None:
    assert PDFLATEX is not None, "CI must install pdflatex (.ci/run)"


@needs_pdflatex
def test_everything_compiles_in_one_document(tmp_path: Path) -> None:
    items: list[object] = ["Every kind of LaTeX symnorm writes: < > | _ & % # ‖x‖₂ Hölder."]
    items += [(name, obj) for name, obj in OUTPUTS]
    items.append(sn.axioms(sn.norm(x, sp.Rational(1, 2)), x))
    items.append(sn.check(sn.norm(x, 2)**2, x, grad=2 * x))
    items.append(("An expression", sn.norm(A * x - b, 2)**2 / 2 + lam * sn.norm(x, 1)))
    tex = sn.latex_document(items, title="symnorm: all of its LaTeX", author="test & co")
    log = _compile(tmp_path, tex)
    assert "! " not in log
    # nothing runs off the page, not even by a point
    assert _overfull(log) == [], _overfull(log)


@needs_pdflatex
@pytest.mark.parametrize("name,obj", OUTPUTS[:6] + OUTPUTS[-3:],
                         ids=[n for n, _ in OUTPUTS[:6] + OUTPUTS[-3:]])
def test_each_output_compiles_alone(tmp_path: Path, name: str, obj: object) -> None:
    tex = sn.latex_document([obj])
    log = _compile(tmp_path, tex)
    assert "! " not in log and _overfull(log) == [], _overfull(log)


@needs_pdflatex
def test_derivation_to_latex_document_writes_the_pdf(tmp_path: Path) -> None:
    d = sn.grad(sn.norm(A * x - b, 2), x)
    target = tmp_path / "grad.tex"
    tex = d.to_latex_document(title="A gradient", path=target, pdf=True)
    assert target.read_text() == tex and target.with_suffix(".pdf").exists()
    assert r"\begin{align*}" in tex and "points & max error & tolerance & verdict" in tex


@needs_pdflatex
def test_cli_latex_document(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli.tex"
    code = main(["latex", "norm(A*x - b, 2)", "--document", "--wrt", "x", "--hessian",
                 "--title", "From the shell", "--output", str(out), "--pdf"])
    assert code == 0 and out.with_suffix(".pdf").exists()
    assert "wrote" in capsys.readouterr().err


def test_cli_latex_document_to_stdout(capsys) -> None:
    assert main(["latex", "lam*norm(x, 1)", "--document"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(r"\documentclass") and out.rstrip().endswith(r"\end{document}")
    assert main(["latex", "norm(x, 1)", "--document", "--pdf"]) == 2


MATHJAX = Path("/usr/share/javascript/mathjax/MathJax.js")  # Debian's libjs-mathjax
CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium")
MATHJAX_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<script type="text/x-mathjax-config">
window.texErrors = [];
MathJax.Hub.Config({tex2jax: {inlineMath: [["$", "$"]], displayMath: [["$$", "$$"]]},
  TeX: {extensions: ["AMSmath.js", "AMSsymbols.js"], noErrors: {disabled: true},
        noUndefined: {disabled: true}}, messageStyle: "none"});
MathJax.Hub.Register.MessageHook("TeX Jax - parse error",
  function (m) { window.texErrors.push(m[1]); });
MathJax.Hub.Queue(function () {
  var out = document.createElement("pre"); out.id = "result";
  out.textContent = "RENDERED " + MathJax.Hub.getAllJax().length + " ERRORS " +
    (window.texErrors.length + document.querySelectorAll(".mjx-merror").length) +
    " " + window.texErrors.join(" | ");
  document.body.insertBefore(out, document.body.firstChild);
});
</script>
<script src="file://MATHJAX?config=TeX-AMS_CHTML"></script></head><body>BODY</body></html>"""


@pytest.mark.skipif(CHROMIUM is None or not MATHJAX.exists(),
                    reason="needs chromium and MathJax (Debian: chromium or "
                           "chromium-headless-shell, and libjs-mathjax)")
def test_mathjax_renders_every_output(tmp_path: Path) -> None:
    import html
    import subprocess

    shown = [o._repr_latex_() for _, o in OUTPUTS] + [r"$$\badmacro x$$"]  # one must fail
    body = "".join(f"<div>{html.escape(t)}</div>" for t in shown)
    page = tmp_path / "page.html"
    page.write_text(MATHJAX_PAGE.replace("MATHJAX", str(MATHJAX)).replace("BODY", body))
    # Debian's chromium opens a window unless told --headless (without a display it
    # exits at once, before MathJax runs); --no-sandbox for containers and root, a fresh
    # profile so no other chromium's lock or state is touched, and 60 s of virtual time
    # (MathJax's queue runs on timers, which virtual time fast-forwards)
    run = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--allow-file-access-from-files", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=60000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    result = re.search(r'<pre id="result">([^<]*)', run.stdout)
    assert result is not None, f"MathJax did not finish; chromium said: {run.stderr[-2000:]}"
    # the planted error is reported twice (the parse-error hook and its red box), no other
    assert result.group(1) == (f"RENDERED {len(shown)} ERRORS 2 "
                               r"Undefined control sequence \badmacro"), result.group(1)


@needs_pdflatex
def test_a_latex_error_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.tex"
    path.write_text("\\documentclass{article}\\begin{document}\\nosuchcommand\\end{document}")
    with pytest.raises(LatexError, match="Undefined control sequence"):
        compile_pdf(path)
