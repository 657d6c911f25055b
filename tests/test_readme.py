"""The README's Python examples run as written, and what their comments promise holds."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_python_examples() -> None:
    assert len(_blocks()) >= 2


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_block_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples may write files (notes.tex)
    namespace: dict = {}
    exec(compile(_blocks()[index], f"README.md python block {index}", "exec"), namespace)


def test_readme_values_are_as_commented() -> None:
    blocks = _blocks()
    first: dict = {}
    exec(blocks[0], first)
    sn = first["sn"]
    assert sn.to_text(first["d"].result) == "A.T*(A*x - b)/norm(A*x - b, 2)"
    assert repr(first["d"]).startswith("grad_x(norm(A*x - b, 2)) = A.T*(A*x - b)/")
    x = first["x"]
    assert not sn.check(sn.norm(x, 2)**2, x, grad=x).ok
    assert not sn.check(sn.norm(x, "oo"), x, grad=[.5, .5, .5], at=[1., 1., 1.]).ok
    k = first["k"]
    np.testing.assert_allclose(k(np.array([1.0, 2.0]), np.eye(2), np.array([0.0, 1.0])),
                               [2**-0.5, 2**-0.5])
    second: dict = {}
    exec(blocks[1], second)
    np.testing.assert_allclose(second["xhat"], [2.0, 0.0], atol=1e-8)
    assert second["S"].contains([0.3, 1.0], at=[0.0, 2.0])
    np.testing.assert_allclose(second["S"].min_norm(at=[0.0, 2.0]), [0.0, 1.0])


def test_readme_verify_example_is_as_commented(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    block = next(b for b in _blocks() if "sn.verify(" in b)
    lines = block.splitlines()
    keep = [line for line in lines if not line.startswith("sn.latex_document")]
    ns: dict = {}
    exec("\n".join(keep), ns)
    sn = ns["sn"]
    assert ns["v"].status == "wrong"
    x, A, b = ns["x"], ns["A"], ns["b"]
    claim = r"\nabla f &= A^\top(Ax - b) \\ &= A^\top A x + A^\top b"
    assert sn.verify(claim, sn.norm(A*x - b, 2)**2/2, x).first_wrong == 1
    assert sn.to_text(sn.parse_latex(r"\frac{1}{2}\|Ax - b\|_2^2")) == "norm(A*x - b, 2)**2/2"


def test_readme_matrix_and_sobolev_values_are_as_commented() -> None:
    blocks = _blocks()
    matrices: dict = {}
    exec(next(b for b in blocks if "cookbook" in b), matrices)
    sn = matrices["sn"]
    assert str(matrices["cookbook"]) == "2*A.T*A*X*B*B.T"
    assert sn.to_text(matrices["d"].result) == "lam*svd_uv(X) + 2*(X*w - y)*w.T"
    np.testing.assert_allclose(matrices["tie"], np.eye(3) / 3, atol=1e-15)
    sobolev: dict = {}
    exec(next(b for b in blocks if "sobolev_norm(sp.sin" in b), sobolev)
    sp = sobolev["sp"]
    assert sp.simplify(sobolev["H1"] - sp.sqrt(2 + 2 * sp.pi**2) / 2) == 0
    u, t = sobolev["u"], sobolev["t"]
    assert sobolev["EL"] == 2*u(t) - 2*u(t).diff(t, 2) + 2*u(t).diff(t, 4)


def test_readme_one_line_claims_and_documents_are_as_commented(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    block = next(b for b in _blocks() if "verify_document" in b)
    ns: dict = {}
    exec(block, ns)
    sn, x = ns["sn"], ns["x"]
    assert sn.verify(r"\nabla f = \frac{x}{\|x\|_2}", sn.norm(x, 2)).status == "proved"
    assert sn.verify("∇ₓ‖x‖₂ = x/‖x‖₂").status == "proved"
    assert sn.verify(r"\nabla f = \frac{x^\top}{\|x\|_2}", sn.norm(x, 2)).layout == "numerator"
    assert sn.verify(r"\nabla_x \frac{1}{6}\|x\|_2^2 = 0.3333333333 x").status == "wrong"
    report = ns["report"]
    assert (report.ok, report.counts) == (False, {"proved": 1, "wrong": 1})
    shown = README.read_text(encoding="utf-8").split("$ symnorm verify notes.tex\n")[1]
    shown = shown.split("```")[0].splitlines()
    lines = report.text().splitlines()
    assert shown[0] == lines[0] and shown[2] == lines[2]
    assert lines[1].startswith(shown[1].removesuffix(" ..."))


def test_readme_function_and_jacobian_claims_are_as_commented() -> None:
    block = next(b for b in _blocks() if "J_x" in b)
    ns: dict = {}
    exec(block, ns)
    sn, x, S, s = ns["sn"], ns["x"], ns["S"], ns["s"]
    assert sn.verify(r"\nabla_x \log\sum_i e^{x_i} = \operatorname{softmax}(x)").status == \
        "proved"
    assert sn.verify(r"\nabla_S \log\det S = S^{-1}", shapes={"S": S}).status == "proved"
    assert sn.verify(rf"J_x {s} = \operatorname{{diag}}({s}) - {s} {s}^\top").status == "proved"
    assert sn.verify(r"\partial (x/\|x\|_2)/\partial x = I - x x^\top").status == "wrong"
    assert (ns["v"].status, ns["v"].layout) == ("equal up to layout", "denominator")
    assert ns["v"].f == ns["A"] * x + ns["b"]
