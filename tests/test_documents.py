"""Whole documents: every derivative claim of a .tex file judged, with file:line reports
an editor can jump to, reading errors with file:line:column, and the CLI's exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnorm as sn
from symnorm.cli import main
from symnorm.language.tex_source import Block, equations, math_blocks, read_source
from symnorm.model.errors import ParseError

FIXTURE = Path(__file__).parent / "fixtures" / "notes.tex"

# The fixture's report, line for line (the first line of each finding; a wrong claim's
# counterexample follows, indented).
EXPECTED = [
    r"notes.tex:8: proved: \nabla f = A^\top (Ax - b)",
    r"notes.tex:9: wrong: = A^\top A x + A^\top b: does not follow from the line before "
    r"(A.T*(A*x - b))",
    r"notes.tex:10: proved: = A^\top A x - A^\top b",
    r"notes.tex:14: equal up to layout (numerator layout: the transpose): "
    r"\frac{\partial r}{\partial x} = \frac{x^\top}{\|x\|_2}",
    r"notes.tex:17: wrong: \frac{\partial r}{\partial x_i} = \frac{2 x_i}{\|x\|_2}: not the "
    r"partial derivative of norm(x, 2) with respect to x_i",
    r"notes.tex:19: proved: \frac{\partial \|x\|_1}{\partial x_i} = \operatorname{sign}(x_i)",
    r"notes.tex:20: wrong: ∇ₓ‖x‖₁ = \frac{x}{\|x\|_1}: not the gradient of norm(x, 1) with "
    r"respect to x",
    r"notes.tex:21: equal almost everywhere (not where an entry of x is 0): "
    r"\nabla_x \|x\|_1 = x \odot |x|^{\circ -1}",
    r"notes.tex:23: proved: \nabla^2 r = \frac{1}{\|x\|_2}\left(I - \frac{x x^\top}"
    r"{\|x\|_2^2}\right)",
    r"notes.tex:25: wrong: \nabla_x \frac{1}{6}\|x\|_2^2 = \frac{x}{3} + \frac{x}{10^{9}} + "
    r"\frac{b}{10^{9}}: not the gradient of norm(x, 2)**2/6 with respect to x",
    r"notes.tex:27: could not decide: \nabla_x \frac{1}{6}\|x\|_2^2 = \frac{x}{3} "
    r"e^{(\|x\|_2 - 0.5\sqrt{x^\top x})/10^{9}}: the numbers agree to within rounding at "
    r"every point, but the difference is (exp(norm(x, 2)/1000000000 - sqrt(x.T*x)/2000000000)"
    r"/3 - 1/3)*x, too small for them to tell whether it is 0",
    r"notes.tex:29:10: skipped: \nabla g = 2x: the claim differentiates g, which is not "
    r"defined before it; define it first (g(x) = ...) or write the function itself "
    r"(\nabla_x \|x\|_2 = ...)",
    r"notes.tex:32:28: skipped: \frac{d}{dx} \|x\|_2^2 = \mathbb{E}[2x]: unknown command "
    r"'\mathbb'",
    r"notes.tex:36: proved: \nabla_x \left( \lambda \|x\|_1 + \frac{\mu}{2}\|x\|_2^2 \right) "
    r"= \lambda \operatornam...",
]
SUMMARY = ("notes.tex: 14 claims: 5 proved, 1 equal up to layout, 1 equal almost everywhere, "
           "1 could not decide, 4 wrong, 2 skipped")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def notes(tmp_path, monkeypatch) -> Path:
    shutil.copy(FIXTURE, tmp_path / "notes.tex")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "notes.tex"


def test_the_fixture_report_line_for_line(notes, capsys) -> None:
    code, out, _ = run(capsys, "verify", "notes.tex")
    assert code == 1  # a claim is wrong
    lines = out.splitlines()
    assert [line for line in lines if not line.startswith("    ")] == [*EXPECTED, SUMMARY]
    # every wrong claim has its counterexample (or its shape mismatch) under it
    for k, line in enumerate(lines):
        if ": wrong: " in line:
            assert lines[k + 1].startswith("    counterexample at ")


def test_the_counterexamples_are_the_numbers_of_both_sides(notes) -> None:
    report = sn.verify_document("notes.tex")
    wrong = [f for f in report.findings if f.status == "wrong"]
    first = wrong[0].verdict.counterexample  # = A^T A x + A^T b against A^T (A x - b)
    import numpy as np

    A, b, x = (np.array(first.values[k]) for k in ("A", "b", "x"))
    np.testing.assert_allclose(np.ravel(first.hand), A.T @ A @ x + A.T @ b)
    np.testing.assert_allclose(np.ravel(first.reference), A.T @ (A @ x - b))
    # the free-index claim names i, 1-based, and both sides at that i
    free = wrong[1].verdict.counterexample
    i, xs = free.index["i"], np.array(free.values["x"])
    assert float(free.hand) == pytest.approx(2 * xs[i - 1] / np.linalg.norm(xs))
    assert float(free.reference) == pytest.approx(xs[i - 1] / np.linalg.norm(xs))


def test_report_object(notes) -> None:
    report = sn.verify_document(notes)
    assert not report.ok and not report.strict_ok
    assert report.counts == {"proved": 5, "equal up to layout": 1,
                             "equal almost everywhere": 1, "could not decide": 1, "wrong": 4,
                             "skipped": 2}
    assert [f.line for f in report.findings] == [int(e.split(":")[1]) for e in EXPECTED]
    assert {f.kind for f in report.findings} == {"claim", "step"}
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False and len(data["findings"]) == 14
    assert data["findings"][1]["verdict"]["status"] == "wrong"
    html = report._repr_html_()
    assert "<table>" in html and "<script" not in html and "notes.tex" in html
    assert repr(report).startswith("<DocumentReport ") and str(report).endswith(SUMMARY)


def test_cli_json_quiet_strict(notes, capsys, tmp_path) -> None:
    code, out, _ = run(capsys, "verify", "notes.tex", "--json")
    assert code == 1 and json.loads(out)["counts"]["wrong"] == 4
    code, out, _ = run(capsys, "verify", "notes.tex", "-q")
    shown = [line for line in out.splitlines() if not line.startswith("    ")]
    assert shown == [e for e in EXPECTED if ": proved: " not in e and ": equal" not in e] \
        + [SUMMARY]
    good = tmp_path / "good.tex"
    good.write_text("$$\\nabla_x \\|x\\|_2^2 = 2x$$\n$$\\nabla_x f = 2x$$\n")
    code, out, _ = run(capsys, "verify", "good.tex")
    assert code == 0  # a skipped claim is listed, not a failure ...
    assert "good.tex:2:12: skipped" in out
    code, _, _ = run(capsys, "verify", "good.tex", "--strict")
    assert code == 1  # ... unless asked
    code, _, err = run(capsys, "verify", "good.tex", "--of", "norm(x)")
    assert code == 2 and "--of is for one claim" in err


@pytest.mark.parametrize("text,where,what", [
    ("\\begin{document}\n\\begin{align}\n  \\nabla f = 2x\n", "bad.tex:2:1",
     "\\begin{align} is never closed by \\end{align}"),
    ("Let $f(x) = x^\\top x and more.\n", "bad.tex:1:5", "'$' is never closed"),
    ("text\n\n$$\\nabla_x \\|x\\|_1 = 1\n", "bad.tex:3:1", "'$$' is never closed"),
    ("a \\] b\n", "bad.tex:1:3", "'\\]' closes math that was never opened"),
])
def test_reading_errors_name_file_line_column(tmp_path, monkeypatch, capsys, text, where,
                                              what) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.tex").write_text(text)
    code, out, err = run(capsys, "verify", "bad.tex")
    assert code == 2 and out == ""
    assert err.strip() == f"{where}: error: {what}"
    with pytest.raises(ParseError) as info:
        sn.verify_document(tmp_path / "bad.tex")
    assert (info.value.line, info.value.column) == tuple(map(int, where.split(":")[1:]))


def test_not_utf8_missing_and_too_large(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "latin.tex").write_bytes(b"$$x = 1$$\n\\section{Caf\xe9}\n")
    code, _, err = run(capsys, "verify", "latin.tex")
    assert code == 2 and err.startswith("latin.tex:2:13: error: the file is not UTF-8 text")
    code, _, err = run(capsys, "verify", "missing.tex")
    assert code == 2 and err.startswith("missing.tex: error: cannot read the file")
    big = tmp_path / "big.tex"
    big.write_text("% padding\n" * 210_000)  # 2.1 MB
    code, _, err = run(capsys, "verify", "big.tex")
    assert code == 2 and "more than the 2000000 bytes symnorm reads" in err
    with pytest.raises(ParseError, match="more than the 100 bytes"):
        sn.verify_document(FIXTURE, max_bytes=100)


def test_follow_input_only_inside_the_folder(tmp_path, monkeypatch, capsys) -> None:
    root = tmp_path / "notes"
    (root / "sec").mkdir(parents=True)
    (tmp_path / "outside.tex").write_text("$$\\nabla_x \\|x\\|_2^2 = 3x$$\n")
    (root / "sec" / "part.tex").write_text("% part\n\n$$\\nabla_x \\|x\\|_2^2 = 3x$$\n")
    (root / "main.tex").write_text("\\begin{document}\n\\input{sec/part}\n"
                                   "\\include{../outside}\n\\input{missing}\n"
                                   "$$\\nabla_x \\|x\\|_1 = \\operatorname{sign}(x)$$\n"
                                   "\\includegraphics{figure}\n\\end{document}\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "verify", "notes/main.tex")
    assert code == 0
    assert out.splitlines()[:3] == [
        "notes/main.tex:2: note: \\input{sec/part} not followed (--follow-input reads it)",
        "notes/main.tex:3: note: \\include{../outside} not followed (--follow-input reads it)",
        "notes/main.tex:4: note: \\input{missing} not followed (--follow-input reads it)"]
    code, out, _ = run(capsys, "verify", "notes/main.tex", "--follow-input")
    assert code == 1
    lines = [line for line in out.splitlines() if not line.startswith("    ")]
    assert lines == [
        "notes/sec/part.tex:3: wrong: \\nabla_x \\|x\\|_2^2 = 3x: not the gradient of "
        "norm(x, 2)**2 with respect to x",
        "notes/main.tex:3: note: \\include{../outside} not followed: it is outside the "
        "document's folder",
        "notes/main.tex:4: note: \\input{missing} not followed: no such file",
        "notes/main.tex:5: proved: \\nabla_x \\|x\\|_1 = \\operatorname{sign}(x)",
        "notes/main.tex: 2 claims: 1 proved, 1 wrong"]


def test_an_input_of_itself_is_not_followed(tmp_path) -> None:
    (tmp_path / "loop.tex").write_text("\\input{loop}\n$$\\nabla_x \\|x\\|_2^2 = 2x$$\n")
    report = sn.verify_document(tmp_path / "loop.tex", follow_input=True)
    assert [f.status for f in report.findings] == ["note", "proved"]
    assert "it inputs itself" in report.findings[0].message


# ---------------------------------------------------------------------------- reading

def _doc(tmp_path, body: str) -> sn.DocumentReport:
    (tmp_path / "d.tex").write_text(body)
    return sn.verify_document(tmp_path / "d.tex")


def test_what_is_not_math_is_not_read(tmp_path) -> None:
    report = _doc(tmp_path, "\\documentclass{article}\n"
                            "\\newcommand{\\x}{$\\nabla_x \\|x\\|_2 = 0$}\n"
                            "\\begin{document}\n"
                            "It costs \\$5 % and $$\\nabla_x \\|x\\|_1 = 0$$ in a comment\n"
                            "\\begin{verbatim}\n$$\\nabla_x \\|x\\|_1 = 0$$\n\\end{verbatim}\n"
                            "\\verb|$$x$$| and $$\\nabla_x \\|x\\|_1 = \\operatorname{sign}(x)$$\n"
                            "\\end{document}\n$$\\nabla_x \\|x\\|_1 = 0$$\n")
    assert [(f.line, f.status) for f in report.findings] == [(8, "proved")]


def test_chains_definitions_and_continued_lines(tmp_path) -> None:
    report = _doc(tmp_path, r"""\begin{document}
\begin{align}
  h(x) &\coloneqq \|x\|_2^2 + \lambda \|x\|_1 \nonumber \\
       &= x^\top x + \lambda \|x\|_1 \label{a} \\
  \nabla h &= 2x \notag \\
           &\quad + \lambda \operatorname{sign}(x), \qquad \nabla^2 h = 2I
\end{align}
\begin{multline}
  \nabla_x \frac{1}{2}\|Ax - b\|_2^2 = A^\top A x \\
  - A^\top b
\end{multline}
\begin{align}
  \nabla h &= \nabla \left(x^\top x + \lambda \|x\|_1\right) \\
           &= 2x + \lambda \operatorname{sign}(x) & \nabla_x \|x\|_\infty &= x
\end{align}
\end{document}""")
    assert [(f.line, f.status, f.kind) for f in report.findings] == [
        (4, "equal at random points", "step"),   # the definition's next step, against it
        (5, "proved", "claim"),                  # 2x + lambda sign(x), over two lines
        (6, "proved", "claim"),                  # a second claim after \qquad
        (9, "proved", "claim"),                  # multline: one equation
        (13, "proved", "step"),                  # a restated derivative, checked
        (14, "proved", "step"),
        (14, "wrong", "claim"),                  # the second equation of an align row
    ]


def test_a_definition_that_cannot_be_read_is_said_so(tmp_path) -> None:
    report = _doc(tmp_path, "\\[ f(x) = \\mathbb{E}[x] \\]\n\\[ \\nabla f = 0 \\]\n")
    assert [(f.line, f.status) for f in report.findings] == [(1, "skipped"), (2, "skipped")]
    assert "the definition of f cannot be read" in report.findings[0].message
    assert "its definition (" in report.findings[1].message


def test_shapes_declare_names(tmp_path) -> None:
    (tmp_path / "d.tex").write_text("$$ \\frac{\\partial}{\\partial w} \\frac{1}{2}"
                                    "(w^\\top a - t)^2 = (w^\\top a - t) a $$\n")
    report = sn.verify_document(tmp_path / "d.tex", shapes={"t": "scalar"})
    assert [f.status for f in report.findings] == ["proved"]


def test_blocks_and_rows() -> None:
    source = read_source(FIXTURE)
    blocks = math_blocks(source)
    assert [b.env for b in blocks if b.display] == ["align", "equation", "\\[", "gather", "$$",
                                                    "$$", "$$", "equation", "equation",
                                                    "align*"]
    clean, rows = equations(source.text, next(b for b in blocks if b.env == "gather"))
    assert len(rows) == 3
    text = "a & = b & c & = d \\\\[2pt] & = e"
    _, rows = equations(text, Block("align", 0, len(text), True))
    assert [len(r) for r in rows] == [2, 1]
    assert source.locate(source.text.index("\\nabla g")) == (str(FIXTURE), 29, 3)


def test_an_empty_document(tmp_path) -> None:
    report = _doc(tmp_path, "No math here.\n")
    assert report.ok and report.findings == []
    assert "no derivative claims found" in report.summary()


# Any mix of the pieces a .tex file is made of: a report, or a reading error naming the
# file, line and column; never a Python error from inside.
_TEX = ["$", "$$", r"\[", r"\]", r"\begin{align}", r"\end{align}", "\n", "%", r"\$",
        r"\nabla f", " = ", "&= ", r"\\", "2x", r"f(x) = \|x\|_2^2", "x_i",
        r"\frac{\partial f}{\partial x_i}", r"\label{a}", r"\input{b}", r"\quad",
        r"\begin{aligned}", r"\end{aligned}", "{", "}", "∇ₓ‖x‖₂", r"\begin{verbatim}",
        r"\end{verbatim}"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(_TEX), min_size=1, max_size=24).map("".join))
def test_any_document_gives_a_report_or_a_reading_error(tmp_path, text: str) -> None:
    path = tmp_path / "fuzz.tex"
    path.write_text(text)
    try:
        report = sn.verify_document(path, follow_input=True)
    except ParseError as err:
        assert str(err).startswith(str(path))
        return
    assert all(f.line >= 1 and f.path == str(path) for f in report.findings)
