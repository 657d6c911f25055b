"""Every result object shows itself: readable text in the expression language (no class
dumps), display LaTeX that compiles under pdflatex and renders in MathJax, and a section
of a document that reads like a textbook (headings in words, one number per equation,
notes as sentences with their formulas typeset, checks as small tables).

The pdflatex tests are skipped where pdflatex is missing (CI installs it); the MathJax
test needs a headless Chromium and Debian's MathJax 2.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symnorm as sn
from symnorm.presentation.blocks import Equations, Math, Paragraph, Row, render_document
from symnorm.presentation.document import compile_pdf
from symnorm.presentation.prose import (
    Note,
    escape_words,
    formula_latex,
    quoted_source,
    source_math,
    tex_to_text,
    typeset_plain,
)
from symnorm.presentation.shown_expr import ShownExpr

PDFLATEX = shutil.which("pdflatex")
needs_pdflatex = pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed")

x, A, b = sn.vector("x"), sn.matrix("A"), sn.vector("b", "m")
W = sn.matrix("W")
lam = sn.scalar("lam", positive=True)
t = sp.Symbol("t", real=True)
u = sp.Function("u")
LASSO = sn.norm(A * x - b, 2) ** 2 / 2 + lam * sn.norm(x, 1)


def _objects() -> list[tuple[str, object]]:
    """One of every result object (and the views a network's derivation hands out)."""
    bp = sn.backprop(sn.mlp([2, 3, 2], bias=True, weight_decay=0.01))
    return [
        ("gradient", sn.grad(sn.norm(A * x - b, 2), x)),
        ("hessian", sn.hessian(sn.norm(x, 2), x)),
        ("gradient, index notation", sn.grad(sn.norm(x, 2), x, index_notation=True)),
        ("verdict equal", sn.verify(r"\frac{x}{\|x\|_2}", sn.norm(x, 2), x)),
        ("verdict wrong", sn.verify(r"\frac{2x_1}{\|x\|_2}", sn.norm(x, 2), "x_1")),
        ("verdict almost everywhere", sn.verify(r"\frac{x_1}{|x_1|}", sn.norm(x, 1), "x_1")),
        ("verdict lines", sn.verify(r"g &= A^\top(Ax - b) \\ &= A^\top A x + b",
                                    sn.norm(A * x - b, 2) ** 2 / 2, x)),
        ("verdict shapes", sn.verify(r"2(Ax - b)A^\top", sn.norm(A * x - b, 2) ** 2, x)),
        ("check pass", sn.check(sn.norm(x, 2) ** 2, x, grad=2 * x)),
        ("check fail", sn.check(sn.norm(x, 2), x, grad=2 * x)),
        ("subdifferential lasso", sn.subdiff(LASSO, x)),
        ("subdifferential L2", sn.subdiff(sn.norm(x, 2), x)),
        ("subdifferential nuclear", sn.subdiff(sn.norm(W, "nuc"), W)),
        ("optimality", sn.optimality(LASSO, x)),
        ("prox L1", sn.prox(lam * sn.norm(x, 1), x)),
        ("prox Linf plus quadratic", sn.prox(lam * sn.norm(x, sp.oo)
                                              + lam / 2 * sn.norm(x, 2) ** 2, x)),
        ("prox nuclear", sn.prox(lam * sn.norm(W, "nuc"), W)),
        ("dual L1", sn.dual(sn.norm(x, 1))),
        ("dual p", sn.dual(sn.norm(x, sn.scalar("p")))),
        ("dual nuclear", sn.dual(sn.norm(W, "nuc"))),
        ("axioms", sn.axioms(sn.norm(x, sp.Rational(1, 2)), x)),
        ("backprop", bp),
        ("backprop deltas", bp.deltas),
        ("backprop delta", bp.deltas[2]),
        ("backprop grads", bp.grads),
        ("backprop grad", bp.grads["W1"]),
        ("update rules", bp.update_rules()),
        ("update rule", bp.update_rules()[0]),
        ("component", bp.components("W1")),
        ("backprop report", bp.report),
        ("kernel", sn.grad(sn.norm(A * x - b, 2), x).kernel()),
        ("backprop kernel", bp.kernel()),
        ("sobolev", sn.sobolev_norm(sp.sin(sp.pi * t), t, (0, 1), k=1)),
        ("first variation", sn.first_variation(sn.sobolev_energy(u(t), t, (0, 1), k=1),
                                               u(t))),
    ]


OBJECTS = _objects()
IDS = [name for name, _ in OBJECTS]
# what a terminal must never show: SymPy's class names, dataclass dumps, object addresses
DUMP = re.compile(r"HadamardProduct|HadamardPower|MatMul\(|MatAdd\(|DiagMatrix|MatrixElement|"
                  r"ScalarOf\(|Sum\(|Derivative\(|Integral\(|Indexed|object at 0x|"
                  r"\b[A-Z]\w*\((?:\w+)=|\bNode\(|Step\(rule=|\[0, 0\]")


@pytest.mark.parametrize("name,obj", OBJECTS, ids=IDS)
def test_text_is_the_language_not_a_dump(name: str, obj: object) -> None:
    for text in (repr(obj), str(obj)):
        assert text.strip(), name
        assert not DUMP.search(text), (name, DUMP.search(text), text[:400])


@pytest.mark.parametrize("name,obj", OBJECTS, ids=IDS)
def test_jupyter_shows_mathematics(name: str, obj: object) -> None:
    if hasattr(obj, "_repr_html_"):  # Jupyter prefers HTML: reports are small tables
        body = obj._repr_html_()
        assert "<table>" in body and "<script" not in body
        assert body.count(r"\(") == body.count(r"\)")
        return
    assert callable(getattr(obj, "_repr_latex_", None)), f"{name} has no rich display"
    body = obj._repr_latex_()
    assert body.startswith("$$") and body.endswith("$$")
    tex = body[2:-2]
    assert tex.count("{") == tex.count("}")
    assert len(re.findall(r"\\left(?![a-z])", tex)) == len(re.findall(r"\\right(?![a-z])", tex))
    assert not re.search(r"HadamardProduct|MatMul|\[0, 0\]|\\text\{[^}]*[\\_^$]", tex)
    assert not re.search(r"(?<!\\)\\\[", tex), "a row break lost a backslash"


def test_the_deltas_and_the_update_rules_are_mathematics() -> None:
    bp = dict(OBJECTS)["backprop"]
    d2 = bp.deltas[2]
    assert repr(d2) == "(y - t) .* y .* (1 - y)"
    assert str(d2) == "delta2 = dL/da2 = (y - t) .* y .* (1 - y)"
    assert d2._repr_latex_() == (r"$$\delta_{2} = \frac{\partial L}{\partial a_{2}} = "
                                 r"\left(y - t\right) \odot y \odot \left(1 - y\right)$$")
    # it stands for its expression: printers, SymPy functions, arithmetic, attributes
    expr = bp.deltas.expr(2)
    assert isinstance(d2, ShownExpr) and d2 == expr and d2.expr is expr
    assert sn.to_text(d2) == sn.to_text(expr) and sn.latex(d2) == sn.latex(expr)
    assert d2.shape == expr.shape and sp.sympify(d2) == expr
    assert (2 * d2) == 2 * expr and (d2 - expr).doit() == sp.ZeroMatrix(*expr.shape)
    assert repr(bp.deltas) == ("{2: (y - t) .* y .* (1 - y), "
                               "1: (W2.T*delta2) .* h1 .* (1 - h1)}")
    assert str(bp.grads["W1"]) == "dL/dW1 = W1/50 + delta1*x.T"
    rules = bp.update_rules()
    assert repr(rules).splitlines()[0].startswith("W1 <- W1 - eta*(W1/50 + delta1*x.T)")
    assert r"\leftarrow" in rules._repr_latex_() and "UpdateRule" not in repr(rules)
    assert repr(bp.components("W2")) == "dL/dW2[k, j] = (y[k] - t[k])*y[k]*(1 - y[k])*h1[j] " \
                                        "+ 1/50*W2[k, j]"


def test_one_line_reprs_in_the_language() -> None:
    objs = dict(OBJECTS)
    assert repr(objs["gradient"]) == "grad_x(norm(A*x - b, 2)) = A.T*(A*x - b)/norm(A*x - b, 2)"
    assert repr(objs["prox L1"]) == "prox_{lam*norm(., 1)}(v) = soft(v, lam)"
    assert repr(objs["dual L1"]) == "dual of norm(x, 1): norm(y, oo)"
    assert repr(objs["subdifferential lasso"]) == (
        "subdiff(lam*norm(x, 1) + norm(A*x - b, 2)**2/2) = {A.T*(A*x - b)} + "
        "lam*subdiff(norm(x, 1))")
    assert repr(objs["subdifferential L2"]) == (
        "subdiff(norm(x, 2)) = {x/‖x‖₂} if x ≠ 0; {g : ‖g‖₂ ≤ 1} if x = 0")
    assert repr(objs["axioms"]) == ("<AxiomReport norm(x, 1/2): quasi-norm (fails: triangle "
                                    "inequality)>")
    assert repr(objs["check pass"]).startswith("<CheckReport PASS: 2*x = grad_x(norm(x, 2)**2) "
                                               "at 6 point(s), max error ")
    assert repr(objs["first variation"]) == "dJ/du(t) = 2*u(t) - 2*u''(t)"
    assert repr(objs["sobolev"]) == "||sin(pi*t)||_H^1(0, 1) = sqrt(2 + 2*pi**2)/2  [exact]"
    assert repr(objs["optimality"]) == "0 in {A.T*(A*x - b)} + lam*subdiff(norm(x, 1))"


def test_verdict_text_shows_the_claims_not_their_source() -> None:
    lines = dict(OBJECTS)["verdict lines"]
    text = str(lines)
    assert "line 1: A.T*(A*x - b)  -> proved" in text  # read, in the language
    assert "line 2: A^\\top A x + b  -> wrong" in text  # not read (its shapes differ): as written
    wrong = dict(OBJECTS)["verdict wrong"]
    assert "claim:   2*x_1/norm(x, 2)" in str(wrong) and "1 random point (n = 2)" in str(wrong)


# ------------------------------------------------------------------------- documents

def _section(obj: object) -> str:
    return "\n".join(obj._document_section_())  # type: ignore[attr-defined]


def test_headings_are_words() -> None:
    objs = dict(OBJECTS)
    expected = {
        "gradient": r"\subsection*{Gradient of $\left\lVert A x - b \right\rVert_{2}$ with "
                    r"respect to $x$}",
        "hessian": r"\subsection*{Hessian of",
        "prox L1": r"\subsection*{Proximal operator of $\lambda \lVert\cdot\rVert_{1}$}",
        "dual L1": r"\subsection*{Dual norm of $\left\lVert x \right\rVert_{1}$}",
        "subdifferential L2": r"\subsection*{Subdifferential of $\left\lVert x",
        "backprop": r"\subsection*{Backpropagation through a 2–3–2 network (sigmoid)}",
        "axioms": r"\subsection*{The norm axioms for $\lVert x \rVert_{1/2}$ as a function of",
        "check pass": r"\subsection*{Numerical check of the derivative $2 x$ of",
        "verdict wrong": r"\subsection*{A hand derivation of the partial derivative of",
        "sobolev": r"\subsection*{The Sobolev norm $\lVert \sin",
        "first variation": r"\subsection*{The first variation of",
        "kernel": r"\subsection*{Kernel of",
    }
    for name, head in expected.items():
        assert _section(objs[name]).startswith(head), (name, _section(objs[name])[:120])


def test_one_number_per_equation_and_rows_that_share_a_note_share_it() -> None:
    bp = dict(OBJECTS)["backprop"]
    tex = sn.latex_document([bp, dict(OBJECTS)["gradient"]])
    tags = re.findall(r"\\tag\{([^}]*)\}", tex)
    assert tags[:6] == ["1a", "1b", "1c", "1d", "2", "3"]  # the forward pass: one number
    assert len(tags) == len(set(tags))  # each once, in one sequence over the document
    assert tags[-2:] == ["9", "10"]  # the gradient's two steps go on from the backprop's 8
    assert r"(1a–d)\enspace Forward pass." in tex and tex.count("(1)") == 0
    jupyter = bp.latex()
    assert jupyter.count(r"\text{(1a)}") == 1 and r"\text{(1a–d) }" in jupyter


def test_notes_are_sentences_with_typeset_mathematics() -> None:
    objs = dict(OBJECTS)
    tex = sn.latex_document([objs[n] for n in ("gradient", "prox L1", "dual p", "hessian",
                                               "axioms", "first variation", "subdifferential "
                                               "lasso", "verdict lines", "backprop")])
    assert r"Not valid where $A x - b = 0$; kernels return $0$, the minimum-norm " \
           r"subgradient." in tex
    assert r"Soft thresholding: $\operatorname{sign}(v) \odot \max(\lvert v \rvert - " \
           r"\lambda, 0)$." in tex
    assert r"The Euler–Lagrange expression $\frac{\delta J}{\delta u} = \sum_\alpha " in tex
    # no code syntax, no verbatim, no source, no hard-wrapped phrase
    for bad in (r"\begin{verbatim}", "**", ".*", "norm(", "textbackslash", "textasciicircum",
                "inner map}", r"\text{map}"):
        assert bad not in tex, bad
    assert "Line 2: shape mismatch in $A^\\top A x + b$" in tex  # the user's LaTeX, typeset


def test_the_check_is_a_small_table() -> None:
    tex = _section(dict(OBJECTS)["gradient"])
    table = tex[tex.index(r"\begin{tabular}"):tex.index(r"\end{tabular}")]
    assert "points & max error & tolerance & verdict" in table and "& pass" in table
    failing = _section(dict(OBJECTS)["check fail"])
    assert r"$\textbf{FAIL}$" in failing and "First failing point" in failing


def test_verdicts_put_the_claim_beside_the_derived_result() -> None:
    tex = _section(dict(OBJECTS)["verdict wrong"])
    assert r"\textit{claim} & \textit{derived by symnorm}" in tex
    assert (r"$\displaystyle \frac{\partial}{\partial x_{1}} \left\lVert x \right\rVert_{2} = "
            r"\frac{2 x_{1}}{\left\lVert x \right\rVert_{2}}$ & $\displaystyle") in tex
    assert r"$\displaystyle x$ & $\displaystyle (0.13, -0.13)$" in tex
    assert r"the claim & $\displaystyle 1.41421$" in tex


def test_a_new_kind_of_derivation_shows_without_more_work() -> None:
    d = sn.grad(sn.norm(x, 2), x)
    d.kind = "jacobian"  # as a Jacobian derivation records itself
    assert str(d._title_().text()) == "Jacobian of norm(x, 2) with respect to x"
    assert _section(d).startswith(r"\subsection*{Jacobian of")
    assert repr(d).startswith("jacobian_x(norm(x, 2)) = ")


@needs_pdflatex
def test_every_object_compiles_alone_and_together_without_an_overfull_box(tmp_path: Path
                                                                          ) -> None:
    logs = []
    for k, (name, obj) in enumerate(OBJECTS):
        path = tmp_path / f"alone{k}.tex"
        sn.latex_document([obj], path=path)
        compile_pdf(path)
        logs.append((name, path.with_suffix(".log").read_text(errors="replace")))
    path = tmp_path / "together.tex"
    sn.latex_document([f"{name}." for name, _ in OBJECTS[:1]] + [o for _, o in OBJECTS],
                      title="Every result object", path=path)
    compile_pdf(path)
    logs.append(("together", path.with_suffix(".log").read_text(errors="replace")))
    for name, log in logs:
        assert "Overfull" not in log, (name, re.findall(r"Overfull.*", log))
        assert "??" not in log and "undefined" not in log.lower(), name


@needs_pdflatex
def test_the_display_latex_of_every_object_compiles(tmp_path: Path) -> None:
    shown = [obj._repr_latex_()[2:-2] for _, obj in OBJECTS  # type: ignore[attr-defined]
             if hasattr(obj, "_repr_latex_") and not hasattr(obj, "_repr_html_")]
    body = "\n".join(f"\\[\n{tex}\n\\]" for tex in shown)
    path = tmp_path / "display.tex"
    path.write_text("\\documentclass{article}\\usepackage[utf8]{inputenc}"
                    "\\usepackage[landscape,margin=1cm]{geometry}"
                    "\\usepackage{amsmath,amssymb}\\allowdisplaybreaks\\begin{document}\n"
                    + body + "\n\\end{document}\n")
    compile_pdf(path)


# ------------------------------------------------------------------------- MathJax

MATHJAX = Path("/usr/share/javascript/mathjax/MathJax.js")  # Debian's libjs-mathjax
CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium")
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<script type="text/x-mathjax-config">
window.texErrors = [];
MathJax.Hub.Config({tex2jax: {inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["$$", "$$"]],
                              processEscapes: true},
  TeX: {extensions: ["AMSmath.js", "AMSsymbols.js"], noErrors: {disabled: true},
        noUndefined: {disabled: true}}, messageStyle: "none"});
MathJax.Hub.Register.MessageHook("TeX Jax - parse error",
  function (m) { window.texErrors.push(m[1]); });
MathJax.Hub.Queue(function () {
  var out = document.createElement("pre"); out.id = "result";
  out.textContent = "RENDERED " + MathJax.Hub.getAllJax().length + " ERRORS " +
    window.texErrors.length + " " + window.texErrors.join(" | ");
  document.body.insertBefore(out, document.body.firstChild);
});
</script>
<script src="file://MATHJAX?config=TeX-AMS_CHTML"></script></head><body>BODY</body></html>"""


@pytest.mark.skipif(CHROMIUM is None or not MATHJAX.exists(),
                    reason="needs a headless chromium and MathJax 2 (Debian: chromium "
                           "libjs-mathjax)")
def test_mathjax_renders_every_display(tmp_path: Path) -> None:
    parts, expected = [], 0
    for _, obj in OBJECTS:
        if hasattr(obj, "_repr_html_"):
            parts.append(obj._repr_html_())  # HTML with \(...\) formulas
            expected += obj._repr_html_().count(r"\(")
        else:
            parts.append(f"<div>{html.escape(obj._repr_latex_())}</div>")
            expected += 1
    parts.append(r"<div>$$\badmacro x$$</div>")  # the check sees errors: this one must fail
    page = tmp_path / "page.html"
    page.write_text(PAGE.replace("MATHJAX", str(MATHJAX)).replace("BODY", "".join(parts)))
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--allow-file-access-from-files", "--virtual-time-budget=60000", "--dump-dom",
         page.as_uri()], capture_output=True, text=True, timeout=180).stdout
    result = re.search(r'<pre id="result">([^<]*)', dom)
    assert result is not None, "MathJax did not finish"
    assert result.group(1) == (f"RENDERED {expected + 1} ERRORS 1 "
                               r"Undefined control sequence \badmacro"), result.group(1)


# ------------------------------------------------------------------------- prose

def test_formulas_read_back_as_text() -> None:
    assert tex_to_text(r"\left\{ g : \lVert g \rVert_{2} \le 1 \right\}") == "{g : ‖g‖₂ ≤ 1}"
    assert tex_to_text(r"\begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}") == \
        "1 if x > 0; 0 if x ≤ 0"
    assert tex_to_text(r"\frac{A^\top (A x - b)}{\lVert A x - b \rVert_2}") == \
        "(Aᵀ (A x - b))/‖A x - b‖₂"
    assert tex_to_text(r"\sum_{i=1}^{n} x_i^{2}") == "Σ_{i=1}^n x_i²"


@pytest.mark.parametrize("plain,markup", [
    ("not valid where A*x - b = 0; kernels return 0",
     "not valid where $A x - b = 0$; kernels return 0"),
    ("Hölder with (1, oo); equality", "Hölder with $(1, \\infty)$; equality"),
    ("the term norm(x, 1/2) is 0 only at x = 0",
     "the term $\\lVert x \\rVert_{1/2}$ is 0 only at $x = 0$"),
    ("a quasi-norm for 0 < p < 1", "a quasi-norm for $0 < p < 1$"),
    ("layer 1 of a network", "layer 1 of a network"),  # no formula: words stay words
    ("float64, rtol = 1e-06", "float64, $\\mathrm{rtol} = 10^{-6}$"),
    ("f is a sum", "$f$ is a sum"),
])
def test_plain_text_formulas_are_typeset(plain: str, markup: str) -> None:
    assert typeset_plain(plain) == markup
    assert Note.of(plain).text() == plain  # the terminal keeps what was written


def test_words_are_escaped_and_the_users_latex_is_typeset_only_when_safe() -> None:
    assert escape_words("50% & <x> #1 ~ $ \\ ö") == \
        "50\\% \\& $<$x$>$ \\#1 \\~{} \\$ $\\backslash$ ö"
    assert source_math(r"A^\top A x + b").latex() == r"$A^\top A x + b$"
    for unsafe in (r"\foo x", "‖x‖₂ + \\input{x}", r"a \\ b", "x & y", "{x"):
        assert source_math(unsafe).latex() == escape_words(unsafe), unsafe  # as words
    assert source_math("‖x‖₂").latex() == r"$\Vert x\Vert _2$"
    assert quoted_source("in 'A^\\top b': ok").latex() == "in $A^\\top b$: ok"
    assert formula_latex("sign(y)|y|^(q-1)") == r"\operatorname{sign}(y)\lvert y \rvert^{q-1}"


def test_long_right_hand_sides_break_in_documents_at_their_signs() -> None:
    rhs = " + ".join(rf"\frac{{a_{{{k}}}}}{{b_{{{k}}}}} x_{{{k}}}" for k in range(40))
    tex = "\n".join(render_document([Equations([Row(Math("f", "f"), Math(rhs, "..."),
                                                    "a note")]),
                                     Paragraph("a sentence")]))
    assert tex.count(r"\notag") >= 3 and tex.count(r"\tag{1}") == 1
    assert r"(1)\enspace A note." in tex and r"\par A sentence.\par" in tex
    assert np.all([len(line) < 400 for line in tex.splitlines()])


def test_the_ones_vector_is_bold_in_products_and_plain_as_a_term() -> None:
    # 1 1ᵀ/n in LayerNorm's Jacobian reads as a matrix, and reads back (a plain
    # '1 1^\top' was read as two scalars); the 1 of y ⊙ (1 - y) stays the plain 1
    x = sn.vector("x")
    d = sn.jacobian(sn.layer_norm(x), x)
    text = sn.latex(d.result)
    assert r"\frac{\mathbf{1} \mathbf{1}^\top}{n}" in text
    verdict = sn.verify(r"J_x \operatorname{LayerNorm}(x) = " + text, sn.layer_norm(x), x)
    assert verdict.status == "proved"  # the scale node unfolds to sqrt(var(x) + eps)
    assert sn.latex(sp.OneMatrix(1, 3)) == r"\mathbf{1}^\top"
    bp = sn.backprop(sn.mlp([2, 3, 2], norm="layer"))
    assert r"\odot \left(1 - y\right)" in sn.latex(bp.deltas[2])
    assert r"\operatorname{mean}(\hat{g}_{1}) \mathbf{1}" in sn.latex(bp.deltas[1])


def test_the_backprop_check_table_names_parameters_as_the_derivation_does() -> None:
    bp = sn.backprop(sn.mlp([2, 3, 2], norm="layer"))
    table = sn.latex_document([bp]).split("relative error")[1]
    for name in (r"W_{1}", r"g_{1}", r"\beta_{1}", r"W_{2}", "L"):
        assert rf"$\displaystyle {name}$" in table
    assert "beta1" not in table
    assert r"{Backpropagation through a 2–3–2 network (sigmoid) with LayerNorm}" in \
        sn.latex_document([bp])
