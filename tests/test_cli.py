"""The symnorm command: output, formats and exit codes (run in-process and as a program)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from symnorm.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_derive_prints_steps_result_and_verdict(capsys):
    code, out, err = run(capsys, "derive", "norm(A*x - b, 2)", "--wrt", "x")
    assert code == 0 and err == ""
    assert "grad_x(norm(A*x - b, 2)) = A.T*(A*x - b)/norm(A*x - b, 2)" in out
    assert "[gradient of the Euclidean (L2) norm]" in out
    assert "PASS" in out and "not valid where A*x - b = 0" in out


def test_derive_latex(capsys):
    code, out, _ = run(capsys, "derive", "norm(x, 2)", "--wrt", "x", "--latex")
    assert code == 0
    assert out.startswith(r"\begin{gathered}") and r"\begin{aligned}" in out
    assert r"\frac{x}{\left\lVert x \right\rVert_{2}}" in out


def test_derive_json(capsys):
    code, out, _ = run(capsys, "derive", "lam*norm(x,1) + mu/2*norm(x,2)**2", "--wrt", "x",
                       "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] is True
    assert data["result"] == "lam*sign(x) + mu*x"
    assert data["check"]["ok"] is True and data["steps"]


def test_derive_of_a_vector_valued_map_is_its_jacobian(capsys):
    code, out, err = run(capsys, "derive", "softmax(x)", "--wrt", "x")
    assert code == 0 and err == ""
    assert "jacobian_x(softmax(x)) = diag(softmax(x)) - softmax(x)*softmax(x).T" in out
    assert "PASS" in out
    code, out, _ = run(capsys, "derive", "A*x + b", "--wrt", "x", "--json")
    data = json.loads(out)
    assert code == 0 and data["kind"] == "jacobian" and data["result"] == "A" and data["ok"]
    code, out, _ = run(capsys, "latex", "layer_norm(x)", "--wrt", "x", "--document")
    assert code == 0 and r"\frac{\partial}{\partial x}" in out
    code, _, err = run(capsys, "derive", "softmax(x)", "--wrt", "x", "--hessian")
    assert code == 2 and "--hessian needs a scalar; 'softmax(x)' is a vector" in err


def test_derive_hessian_and_index(capsys):
    code, out, _ = run(capsys, "derive", "norm(x, 2)", "--wrt", "x", "--hessian")
    assert code == 0 and "(I - x*x.T/norm(x, 2)**2)/norm(x, 2)" in out
    code, out, _ = run(capsys, "derive", "norm(x, p)", "--wrt", "x", "--index")
    assert code == 0 and "sum(abs(x[j])**p for j = 1..n)**(1/p)" in out
    assert "assuming p >= 1" in out


def test_shapes_can_be_declared(capsys):
    code, out, _ = run(capsys, "derive", "c*norm(x, 1)", "--wrt", "x", "--shape", "c=scalar")
    assert code == 0 and "c*sign(x)" in out
    code, out, _ = run(capsys, "derive", "norm(x, 2)", "--wrt", "x", "--shape", "x=3")
    assert code == 0 and "definition" in out  # explicit size: index notation shown


def test_check_subcommand(capsys):
    code, out, _ = run(capsys, "check", "norm(A*x - b, 2)**2", "--wrt", "x",
                       "--grad", "2*A.T*(A*x - b)")
    assert code == 0 and out.startswith("PASS")
    code, out, _ = run(capsys, "check", "norm(x, 2)**2", "--wrt", "x", "--grad", "x")
    assert code == 1 and out.startswith("FAIL") and "x = [" in out


def test_latex_subcommand(capsys):
    code, out, _ = run(capsys, "latex", "x.T*M*x + lam*norm(x, 1)")
    assert code == 0
    assert out.strip() == r"\lambda \left\lVert x \right\rVert_{1} + x^\top M x"


@pytest.mark.parametrize("argv,needle", [
    (["derive", "norm(x, 2", "--wrt", "x"], "line 1, column 10"),
    (["derive", "foo(x)", "--wrt", "x"], "unknown function 'foo'"),
    (["derive", "norm(x - b, 2)", "--wrt", "z"], "z does not appear"),
    (["derive", "norm(x, -1)", "--wrt", "x"], "p = -1"),
    (["derive", "x*y", "--wrt", "x"], "x.T*y"),
    (["derive", "__import__('os').system('echo hi')", "--wrt", "x"], "error"),
    (["derive", "norm(x,1)", "--wrt", "x", "--shape", "bad"], "NAME=KIND"),
])
def test_bad_input_exits_2_with_a_message(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert needle in err and "Traceback" not in err


def test_usage_error_is_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["derive", "norm(x, 2)"])  # --wrt missing
    assert exc.value.code == 2


def test_console_script_runs_as_a_program():
    proc = subprocess.run([sys.executable, "-m", "symnorm", "derive", "norm(x, 1)", "--wrt",
                           "x"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "grad_x(norm(x, 1)) = sign(x)" in proc.stdout


def test_subdiff_subcommand(capsys):
    code, out, _ = run(capsys, "subdiff", "norm(x, oo)", "--wrt", "x", "--at", "1,1,1",
                       "--contains", "0.5,0.5,0.5", "--json")
    data = json.loads(out)
    assert code == 0 and data["contains"] is False and data["distance"] > 0.28
    assert data["min_norm"] == pytest.approx([1 / 3] * 3)
    code, out, _ = run(capsys, "subdiff", "norm(A*x - b, 2)**2/2 + lam*norm(x, 1)", "--wrt",
                       "x", "--at", "2,0", "--value", "A=[[1,0],[0,1]]", "--value",
                       "b=[3,0.5]", "--value", "lam=1", "--contains", "0,0")
    assert code == 0 and "contains: True" in out
    code, out, _ = run(capsys, "subdiff", "max(norm(x,1), 2*norm(x, oo))", "--wrt", "x",
                       "--latex")
    assert code == 0 and r"\operatorname{conv}" in out


def test_prox_dual_axioms_subcommands(capsys):
    code, out, _ = run(capsys, "prox", "lam*norm(x, 1) + mu/2*norm(x, 2)**2", "--wrt", "x")
    assert code == 0 and "soft(v, lam)/(mu + 1)" in out and "PASS" in out
    code, out, _ = run(capsys, "dual", "norm(x, p)")
    assert code == 0 and "norm(y, p/(p - 1))" in out and "PASS" in out
    code, out, _ = run(capsys, "axioms", "norm(x, 1/2)", "--wrt", "x")
    assert code == 0 and "quasi-norm" in out and "f(x + y) = 4 > f(x) + f(y) = 2" in out


def test_nonsmooth_bad_input(capsys):
    code, _, err = run(capsys, "subdiff", "norm(x, 0)", "--wrt", "x")
    assert code == 2 and "not convex" in err
    code, _, err = run(capsys, "subdiff", "norm(x, 1)", "--wrt", "x", "--at", "1,a")
    assert code == 2 and "comma-separated" in err
    code, _, err = run(capsys, "prox", "norm(x, 3)", "--wrt", "x")
    assert code == 2 and "Supported" in err


# --------------------------------------------------------------------------- issue 6

def test_version(capsys):
    import symnorm

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"symnorm {symnorm.__version__}"


def test_a_closed_pipe_ends_quietly():
    # `symnorm derive ... | head -1`: the reader closes the pipe before symnorm writes
    proc = subprocess.Popen([sys.executable, "-m", "symnorm", "derive", "norm(A*x - b, 2)",
                             "--wrt", "x"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err and "BrokenPipeError" not in err


@pytest.mark.parametrize("order", ["inf", "Inf", "infinity"])
def test_infinity_orders_on_the_command_line(capsys, order):
    code, out, _ = run(capsys, "derive", f"norm(x, {order})", "--wrt", "x")
    assert code == 0 and "grad_x(norm(x, oo))" in out and "PASS" in out


@pytest.mark.parametrize("argv, fragment", [
    (["derive", "norm(x, abc)", "--wrt", "x"], "unknown norm order 'abc'"),
    (["derive", "norm(x, H1)", "--wrt", "x"], "unknown norm order 'H1'"),
    (["derive", "norm(x, fro)", "--wrt", "x"], "fro is a matrix norm order"),
    (["derive", "c*norm(x, 1)", "--wrt", "x", "--shape", "c=scaler"],
     "did you mean 'scalar'"),
    (["derive", "norm(x, 1)", "--wrt", "x", "--shape", "c=scalar"], "does not occur"),
])
def test_misreadings_are_errors(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert fragment in err and "Traceback" not in err


def test_spd_shape_on_the_command_line(capsys):
    code, out, _ = run(capsys, "derive", "sqrt(x.T*M*x)", "--wrt", "x", "--shape", "M=spd")
    assert code == 0
    assert "= M*x/sqrt(x.T*M*x)" in out and "PASS" in out


def test_check_uses_only_the_shapes_its_gradient_names(capsys):
    code, out, _ = run(capsys, "check", "c*norm(x, 2)**2", "--wrt", "x", "--grad", "2*c*x",
                       "--shape", "c=scalar", "--shape", "x=3")
    assert code == 0 and out.startswith("PASS")


def test_check_with_zero_points_is_bad_input(capsys):
    code, _, err = run(capsys, "check", "norm(x, 2)", "--wrt", "x", "--grad", "x/norm(x, 2)",
                       "--points", "0")
    assert code == 2 and "points= must be a positive integer" in err
