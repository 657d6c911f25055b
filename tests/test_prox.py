"""Proximal operators: closed forms, kernels, independent numeric minimisers, the check.

The references here are written from the definition ``argmin_x f(x) + ||x - v||^2/2``
(golden-section searches on the objective) or from textbook formulas in plain numpy;
none of them calls symnorm's numeric helpers.
"""

from __future__ import annotations

import dataclasses
import importlib
import json

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnorm as sn
from symnorm.calculus.prox import Prox, derive_prox, prox
from symnorm.calculus.prox.vector import ProxCheckReport
from symnorm.rules.group_norm import group_labels, group_norm
from symnorm.rules.prox_maps import GroupShrink, ProjectL1Ball, SoftThreshold

X = sn.vector("x")
V = sn.vector("v")
LAM = sn.scalar("lam", positive=True)
LAM1 = sn.scalar("lam1", positive=True)
LAM2 = sn.scalar("lam2", positive=True)
MU = sn.scalar("mu", positive=True)
G = group_labels("G")
# the module, even once the package exports the function sn.prox under the same name
prox_module = importlib.import_module("symnorm.calculus.prox")

FORMS = {
    "l1": LAM * sn.norm(X, 1),
    "l2": LAM * sn.norm(X, 2),
    "linf": LAM * sn.norm(X, sp.oo),
    "sq": LAM / 2 * sn.norm(X, 2) ** 2,
    "enet": LAM1 * sn.norm(X, 1) + LAM2 / 2 * sn.norm(X, 2) ** 2,
    "group": LAM * group_norm(X, G),
}
PROX = {key: prox(f, X) for key, f in FORMS.items()}


# -- references written from the definition -------------------------------------------------

def soft(v, lam):
    return np.sign(v) * np.maximum(np.abs(v) - lam, 0)


def block_soft(v, lam):
    n = np.linalg.norm(v)
    return np.zeros_like(v) if n <= lam else (1 - lam / n) * v


def proj_l1_bisection(v, r):
    """Projection onto the L1 ball by bisection on the threshold (not by sorting)."""
    a = np.abs(v)
    if a.sum() <= r:
        return v.copy()
    lo, hi = 0.0, float(a.max())
    for _ in range(200):
        mid = (lo + hi) / 2
        if np.maximum(a - mid, 0).sum() > r:
            lo = mid
        else:
            hi = mid
    return np.sign(v) * np.maximum(a - (lo + hi) / 2, 0)


def group_reference(v, lam, labels):
    out = np.zeros_like(v, dtype=float)
    for k in np.unique(labels):
        b = labels == k
        out[b] = block_soft(v[b], lam)
    return out


def reference(key, v, lam, mu=None, labels=None):
    if key == "l1":
        return soft(v, lam)
    if key == "l2":
        return block_soft(v, lam)
    if key == "linf":
        return v - proj_l1_bisection(v, lam)
    if key == "sq":
        return v / (1 + lam)
    if key == "enet":
        return soft(v, lam) / (1 + mu)
    if key == "group":
        return group_reference(v, lam, labels)
    raise KeyError(key)


GOLDEN = (np.sqrt(5) - 1) / 2


def golden(phi, lo, hi, tol=1e-14):
    """Minimiser of a convex function of one variable on [lo, hi] (golden section)."""
    a, b = lo, hi
    c, d = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
    fc, fd = phi(c), phi(d)
    for _ in range(400):
        if b - a <= tol * max(1.0, abs(a) + abs(b)):
            break
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - GOLDEN * (b - a)
            fc = phi(c)
        else:
            a, c, fc = c, d, fd
            d = a + GOLDEN * (b - a)
            fd = phi(d)
    return (a + b) / 2


def argmin_2d(F, box):
    """Minimiser of a convex function on the plane: nested golden sections.

    phi(s) = min_t F(s, t) is convex, so the outer search is exact too.
    """
    def inner(s):
        t = golden(lambda t: F(np.array([s, t])), -box, box)
        return F(np.array([s, t])), t

    s = golden(lambda s: inner(s)[0], -box, box)
    return np.array([s, inner(s)[1]])


def objective(key, v, lam, mu=0.0, labels=None):
    """x -> f(x) + ||x - v||^2/2, from the definition of each f."""
    def h(x):
        if key == "l1":
            return lam * np.abs(x).sum()
        if key == "l2":
            return lam * np.sqrt(x @ x)
        if key == "linf":
            return lam * np.abs(x).max()
        if key == "sq":
            return lam / 2 * (x @ x)
        if key == "enet":
            return lam * np.abs(x).sum() + mu / 2 * (x @ x)
        if key == "group":
            return lam * sum(np.sqrt(np.sum(x[labels == k] ** 2)) for k in np.unique(labels))
        raise KeyError(key)

    return lambda x: h(x) + 0.5 * np.sum((x - v) ** 2)


def call(key, v, lam, mu=None, labels=None):
    k = PROX[key].kernel()
    if key == "enet":
        return k(v, lam, mu)
    if key == "group":
        return k(v, lam, labels)
    return k(v, lam)


# -- closed forms ---------------------------------------------------------------------------

@pytest.mark.parametrize("key,text,node", [
    ("l1", "soft(v, lam)", SoftThreshold),
    ("l2", "max(0, 1 - lam/norm(v, 2))*v", sp.MatMul),
    ("linf", "v - proj_l1ball(v, lam)", sp.MatAdd),
    ("sq", "v/(lam + 1)", sp.MatMul),
    ("enet", "soft(v, lam1)/(lam2 + 1)", sp.MatMul),
    ("group", "group_shrink(v, lam, G)", GroupShrink),
])
def test_closed_forms(key, text, node):
    P = PROX[key]
    assert sn.to_text(P.result) == text
    assert isinstance(P.result, node)
    assert P.v == V and P.v.shape == X.shape
    assert P.f == FORMS[key] and P.wrt == X
    assert all(isinstance(s, sn.Step) for s in P.steps)
    assert P.report is not None and P.report.ok


def test_closed_form_structure():
    assert PROX["l1"].result == SoftThreshold(V, LAM)
    assert PROX["l2"].result == sp.MatMul(sp.Max(1 - LAM / sn.norm(V, 2), 0), V)
    assert PROX["linf"].result == sp.MatAdd(V, sp.MatMul(-1, ProjectL1Ball(V, LAM)))
    enet = PROX["enet"].result
    assert enet.args == (1 / (1 + LAM2), SoftThreshold(V, LAM1))
    assert PROX["group"].result == GroupShrink(V, LAM, G)
    assert PROX["enet"].params == [LAM1, LAM2]
    assert PROX["group"].params == [LAM]
    assert PROX["group"].arguments() == [V, LAM, G]


def test_bare_norm_numbers_and_combined_coefficients():
    assert sn.to_text(prox(sn.norm(X, 1), X).result) == "soft(v, 1)"
    assert prox(sn.norm(X, 1), X).params == []
    assert sn.to_text(prox(sp.Rational(1, 2) * sn.norm(X, 1), X).result) == "soft(v, 1/2)"
    # lam*(||x||_1 + mu/2 ||x||^2) and a repeated norm term are collected
    P = prox(LAM * (sn.norm(X, 1) + MU / 2 * sn.norm(X, 2) ** 2), X)
    assert sn.to_text(P.result) == "soft(v, lam)/(lam*mu + 1)"
    P = prox(LAM * sn.norm(X, 1) + LAM * sn.norm(X, 1), X)
    assert sn.to_text(P.result) == "soft(v, 2*lam)"
    P = prox(MU * sn.norm(X, 2) ** 2, X)
    assert sn.to_text(P.result) == "v/(2*mu + 1)"
    P = prox(LAM * sn.norm(X, sp.oo) + MU / 2 * sn.norm(X, 2) ** 2, X)
    assert sn.to_text(P.result) == "(v - proj_l1ball(v, lam))/(mu + 1)"
    P = prox(LAM * sn.norm(X, 2) + MU / 2 * sn.norm(X, 2) ** 2, X)
    assert sn.to_text(P.result) == "max(0, 1 - lam/norm(v, 2))*v/(mu + 1)"


def test_prox_variable_avoids_names_in_use():
    v = sn.vector("v")
    P = prox(LAM * sn.norm(v, 1), v)
    assert P.v.name == "w" and sn.to_text(P.result) == "soft(w, lam)"


def test_steps_of_the_elastic_net():
    P = PROX["enet"]
    assert [s.rule for s in P.steps] == [
        "definition", "quadratic term", "positive homogeneity", "L1", "result"]
    text = P.text()
    assert "argmin_x(lam1*norm(x, 1) + lam2*norm(x, 2)**2/2 + norm(x - v, 2)**2/2)" in text
    assert "prox_{lam1*norm(., 1)/(lam2 + 1)}(v/(lam2 + 1))" in text
    assert "1/(lam2 + 1)*prox_{lam1*norm(., 1)}(v)" in text
    assert any(line.startswith("prox_{lam1*norm(., 1) + lam2*norm(., 2)**2/2}(v) = "
                               "soft(v, lam1)/(lam2 + 1)") for line in text.splitlines())
    assert repr(P) == ("prox_{lam1*norm(., 1) + lam2*norm(., 2)**2/2}(v) = "
                       "soft(v, lam1)/(lam2 + 1)")
    assert str(P) == text


@pytest.mark.parametrize("key", sorted(FORMS))
def test_latex(key):
    P = PROX[key]
    src = P.latex()
    assert src.startswith(r"\begin{gathered}") and src.endswith(r"\end{gathered}")
    assert src.count("{") == src.count("}")
    assert src.count(r"\left") == src.count(r"\right")
    block = src[src.index(r"\begin{aligned}") + 16:src.index(r"\end{aligned}")].splitlines()
    start = max(k for k, row in enumerate(block) if "&=" in row)
    last = block[start]
    assert last.startswith(r"\operatorname{prox}_{")
    # a long result is broken at its top-level + and -, the pieces in order
    pieces = [last.split("&= ", 1)[1].split(" && ")[0].removesuffix(r" \\")]
    pieces += [row.removeprefix(r"&\quad {}").removesuffix(r" \\") for row in block[start + 1:]]
    assert " ".join(pieces) == sn.latex(P.result)
    assert P._repr_latex_() == f"$${src}$$"


def test_latex_of_the_nodes():
    src = PROX["l1"].latex()
    assert (r"\operatorname{prox}_{\lambda \lVert\cdot\rVert_{1}}(v) &= "
            r"\operatorname{sign}(v) \odot \max(\lvert v \rvert - \lambda, 0)") in src
    assert r"v - \Pi_{\lambda B_1}(v)" in PROX["linf"].latex()
    assert sn.latex(ProjectL1Ball(V, 1)) == r"\Pi_{B_1}(v)"
    assert sn.latex(ProjectL1Ball(V, LAM1 + LAM2)) == \
        r"\Pi_{\left(\lambda_{1} + \lambda_{2}\right) B_1}(v)"
    assert r"\max\left(1 - \frac{\lambda}{\lVert v_{g} \rVert_2}, 0\right)" in \
        sn.latex(PROX["group"].result)
    assert r"\left\lVert v \right\rVert_{2}" in sn.latex(PROX["l2"].result)


def test_soft_threshold_entries():
    y = sn.vector("y", 2)
    e = SoftThreshold(y, LAM).as_explicit()
    y1 = y[0, 0]
    assert e[0, 0] == sp.sign(y1) * sp.Max(sp.Abs(y1) - LAM, 0)


def test_to_dict_is_json():
    d = PROX["enet"].to_dict()
    assert d["result"] == "soft(v, lam1)/(lam2 + 1)" and d["params"] == ["lam1", "lam2"]
    assert d["check"]["ok"] is True
    json.dumps(d)


# -- kernels against hand-written numpy -----------------------------------------------------

@pytest.mark.parametrize("key", sorted(FORMS))
def test_kernel_matches_numpy_formula(key, rng):
    for n in (1, 2, 5, 40):
        v = 2 * rng.standard_normal(n)
        v[0] = 0.0
        lam, mu = float(rng.uniform(0.3, 2)), float(rng.uniform(0.3, 2))
        labels = rng.integers(0, 3, n)
        got = call(key, v, lam, mu, labels)
        want = reference(key, v, lam, mu, labels)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("key", sorted(FORMS))
def test_kernel_batched_and_out(key, rng):
    batch = 2 * rng.standard_normal((6, 5))
    batch[1] = 0.0
    batch[2, :2] = 0.1  # inside the threshold
    lam, mu, labels = 0.7, 0.4, np.array([0, 1, 0, 2, 1])
    single = np.stack([call(key, row, lam, mu, labels) for row in batch])
    np.testing.assert_allclose(call(key, batch, lam, mu, labels), single, rtol=1e-14)
    out = np.empty_like(batch)
    k = PROX[key].kernel()
    args = {"enet": (lam, mu), "group": (lam, labels)}.get(key, (lam,))
    res = k(batch, *args, out=out)
    assert res is out or np.shares_memory(res, out)
    np.testing.assert_allclose(out, single, rtol=1e-14)
    # one threshold per batch row
    lams = np.linspace(0.2, 3.0, 6)
    if key in ("l1", "l2", "linf", "sq", "group"):
        per_row = np.stack([call(key, row, lm, mu, labels) for row, lm in zip(batch, lams)])
        np.testing.assert_allclose(call(key, batch, lams, mu, labels), per_row, rtol=1e-14)


# lam/||v|| overflows to inf for a subnormal ||v|| (the result is still exactly 0)
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_zeros_ties_and_values_inside_the_threshold():
    k1, k2, kinf = (PROX[key].kernel() for key in ("l1", "l2", "linf"))
    v = np.array([1.0, -1.0, 0.5, 0.0, -3.0, 3.0])
    np.testing.assert_array_equal(k1(v, 1.0), [0, 0, 0, 0, -2, 2])
    assert not np.signbit(k1(v, 1.0)[:4]).any()        # +0.0, not -0.0
    np.testing.assert_array_equal(k2(np.zeros(4), 1.0), np.zeros(4))
    np.testing.assert_array_equal(k2(np.array([0.6, 0.8]), 1.0), [0.0, 0.0])  # ||v|| = lam
    np.testing.assert_array_equal(kinf(np.array([0.25, -0.25, 0.5]), 1.0), [0, 0, 0])
    # the prox of the max-norm clips the largest entries to one common level
    np.testing.assert_allclose(kinf(np.array([3.0, -3.0, 1.0, 0.0]), 2.0),
                               [2.0, -2.0, 1.0, 0.0])
    for k in (k1, k2, kinf):
        for u in (np.zeros(3), np.array([1e-300, 0.0, -1e-300]), np.array([1e-320, 0.0])):
            assert np.all(np.isfinite(k(u, 1.0)))
    assert np.all(PROX["l2"].kernel()(np.array([1e-320, 0.0]), 1.0) == 0)


# -- independent numeric minimisers -----------------------------------------------------------

POINTS_2D = [np.array(p) for p in ([1.7, -0.4], [0.3, 0.2], [2.0, 2.0], [-1.2, 0.0],
                                   [0.0, 0.0], [0.9, -2.6], [1.0, -1.0])]


@pytest.mark.parametrize("key", sorted(FORMS))
def test_against_a_two_dimensional_minimiser(key, rng):
    for v in POINTS_2D + [2 * rng.standard_normal(2) for _ in range(3)]:
        lam, mu = 0.8, 0.6
        labels = np.array([0, 0]) if rng.random() < 0.5 else np.array([3, 1])
        want = argmin_2d(objective(key, v, lam, mu, labels), float(np.abs(v).sum()) + 1)
        got = call(key, v, lam, mu, labels)
        np.testing.assert_allclose(got, want, atol=1e-6, err_msg=f"{key} at v={v}")


@pytest.mark.parametrize("key", ["l1", "enet", "sq"])
def test_separable_forms_against_coordinatewise_minimiser(key, rng):
    lam, mu = 0.9, 0.5
    for _ in range(4):
        v = 2 * rng.standard_normal(7)
        v[:2] = [0.0, lam / 2]
        want = np.array([golden(lambda t, vi=vi: objective(key, np.array([vi]), lam, mu)(
            np.array([t])), -abs(vi) - 1, abs(vi) + 1) for vi in v])
        np.testing.assert_allclose(call(key, v, lam, mu), want, atol=1e-6)


def test_max_norm_against_a_level_set_minimiser(rng):
    """min_x lam*||x||_oo + ||x - v||^2/2 = min_t lam*t + ||v - clip(v, -t, t)||^2/2."""
    lam = 1.3
    for _ in range(6):
        v = 2 * rng.standard_normal(8)
        v[3] = -v[1]  # a tie
        v[5] = 0.0
        t = golden(lambda t, v=v: lam * t + 0.5 * np.sum((v - np.clip(v, -t, t)) ** 2),
                   0.0, float(np.abs(v).max()))
        np.testing.assert_allclose(call("linf", v, lam), np.clip(v, -t, t), atol=1e-6)


def test_l2_against_a_radial_minimiser(rng):
    """The minimiser is s*v/||v|| (Cauchy-Schwarz): a one-dimensional search in s."""
    lam = 1.1
    for scale in (0.05, 0.3, 1.0, 3.0):
        v = scale * rng.standard_normal(6)
        r = float(np.linalg.norm(v))
        s = golden(lambda s, r=r: lam * s + 0.5 * (s - r) ** 2, 0.0, r)
        np.testing.assert_allclose(call("l2", v, lam), s * v / r, atol=1e-6)


def test_group_against_a_blockwise_minimiser(rng):
    lam = 0.7
    labels = np.array([4, 1, 4, 2, 1, 9])  # blocks {0, 2}, {1, 4}, {3}, {5}
    for _ in range(4):
        v = 1.5 * rng.standard_normal(6)
        v[3] = 0.0
        want = np.zeros(6)
        for k in np.unique(labels):
            b = np.nonzero(labels == k)[0]
            F = objective("l2", v[b], lam)
            if b.size == 1:
                want[b] = golden(lambda t, F=F: F(np.array([t])), -5.0, 5.0)
            else:
                want[b] = argmin_2d(F, 5.0)
        np.testing.assert_allclose(call("group", v, lam, labels=labels), want, atol=1e-6)


# -- Moreau's decomposition -----------------------------------------------------------------------

def test_moreau_identity(rng):
    """v = prox_{lam ||.||_oo}(v) + proj onto the lam-ball of the dual norm (and for L1, L2)."""
    proj = sn.kernel(ProjectL1Ball(V, LAM), [V, LAM])
    for _ in range(10):
        v = 2 * rng.standard_normal(int(rng.integers(1, 9)))
        lam = float(rng.uniform(0.1, 4))
        np.testing.assert_allclose(call("linf", v, lam) + proj(v, lam), v, atol=1e-14)
        np.testing.assert_allclose(proj(v, lam), proj_l1_bisection(v, lam), atol=1e-12)
        np.testing.assert_allclose(call("l1", v, lam) + np.clip(v, -lam, lam), v, atol=1e-14)
        r = np.linalg.norm(v)
        ball = v if r <= lam else lam * v / r
        np.testing.assert_allclose(call("l2", v, lam) + ball, v, atol=1e-14)


def test_projection_onto_the_l1_ball(rng):
    proj = sn.kernel(ProjectL1Ball(V, LAM), [V, LAM])
    v = np.array([3.0, -1.0, 0.5])
    np.testing.assert_allclose(np.abs(proj(v, 2.0)).sum(), 2.0)
    np.testing.assert_array_equal(proj(v, 10.0), v)             # inside: unchanged
    np.testing.assert_array_equal(proj(v, 0.0), np.zeros(3))    # radius 0
    np.testing.assert_array_equal(proj(np.zeros(3), 1.0), np.zeros(3))
    batch = rng.standard_normal((7, 4))
    radii = rng.uniform(0, 2, 7)
    want = np.stack([proj_l1_bisection(row, r) for row, r in zip(batch, radii)])
    np.testing.assert_allclose(proj(batch, radii), want, atol=1e-12)
    np.testing.assert_allclose(proj(np.array([2.0, 2.0, -2.0]), 3.0), [1.0, 1.0, -1.0])


# -- the optimality check -------------------------------------------------------------------------

def _wrong(key):
    P = PROX[key]
    v = P.v
    wrong = {
        "l1": SoftThreshold(v, 2 * LAM),
        "l2": sp.MatMul(sp.Max(1 - 2 * LAM / sn.norm(v, 2), 0), v),
        "linf": sp.MatAdd(v, sp.MatMul(-1, ProjectL1Ball(v, 2 * LAM))),
        "sq": sp.MatMul(1 / (1 + 2 * LAM), v),
        "enet": SoftThreshold(v, LAM1),             # forgot the 1/(1 + lam2)
        "group": GroupShrink(v, 2 * LAM, G),
    }[key]
    return dataclasses.replace(P, result=wrong, report=None)


@pytest.mark.parametrize("key", sorted(FORMS))
def test_check_passes_for_the_prox_and_fails_for_a_wrong_one(key):
    report = PROX[key].check(points=6, seed=3)
    assert isinstance(report, ProxCheckReport)
    assert report.ok, report.summary()
    assert all(e < 1e-8 for e in report.errors)
    bad = _wrong(key).check(points=6, seed=3)
    assert not bad.ok
    assert bad.summary().startswith("FAIL")
    if key != "sq":  # the squared L2 prox has no norm subgradient to show
        assert "implied subgradient" in bad.summary()
    assert "FAIL" in bad._repr_html_()
    assert bad.to_dict()["ok"] is False


def test_check_hits_the_kinks():
    """The sampled points include prox entries that are exactly 0 and a prox of 0."""
    report = PROX["l1"].check(points=3, seed=0)
    assert any(np.any(p.prox == 0) and np.any(p.prox != 0) for p in report.points)
    assert any(not np.any(p.prox) for p in report.points)
    inside = report.points[1]
    v, lam = inside.values["v"], inside.values["lam"]
    assert np.any((np.abs(v) < lam) & (v != 0)) and np.any(np.abs(v) == lam)


def test_check_at_given_points():
    P = PROX["l1"]
    assert P.check(at=np.array([1.0, -1.0, 0.0, 0.5])).ok
    report = P.check(at=[{"v": np.array([2.0, 0.0]), "lam": 1.0},
                         {LAM: 0.5, "v": np.array([0.5, -0.5, 3.0])}])
    assert report.ok and len(report.points) == 2
    assert report.points[0].values["lam"] == 1.0
    report = PROX["group"].check(at={"v": np.array([1.0, 0.0, 0.0]), "lam": 1.0,
                                     "G": np.array([0, 1, 1])})
    assert report.ok


def test_prox_raises_when_the_check_fails(monkeypatch):
    monkeypatch.setattr(prox_module, "derive_prox", lambda f, wrt: _wrong("l1"))
    with pytest.raises(sn.CheckFailedError, match="optimality condition") as err:
        prox(FORMS["l1"], X)
    assert isinstance(err.value.report, ProxCheckReport) and not err.value.report.ok


def test_check_false_skips_the_check():
    P = prox(FORMS["l1"], X, check=False)
    assert isinstance(P, Prox) and P.report is None
    assert derive_prox(FORMS["l1"], X).result == P.result


def test_report_display():
    report = PROX["linf"].report
    assert report.summary().startswith("PASS: prox v - proj_l1ball(v, lam) of lam*norm(x, oo)")
    assert "PASS" in report._repr_html_() and bool(report)
    assert json.dumps(report.to_dict())


# -- hypothesis ---------------------------------------------------------------------------------

ENTRY = st.sampled_from([0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0]) | st.floats(
    -4, 4, allow_nan=False, allow_subnormal=False)
VECTORS = st.integers(1, 7).flatmap(
    lambda n: st.lists(ENTRY, min_size=n, max_size=n).map(np.array))
LAMS = st.sampled_from([0.5, 1.0, 2.0]) | st.floats(0.05, 3.0)
SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(VECTORS, LAMS, st.sampled_from(["l1", "l2", "linf", "group"]), st.data())
def test_random_vectors_with_zeros_and_ties(v, lam, key, data):
    labels = np.array(data.draw(st.lists(st.integers(0, 3), min_size=v.size,
                                         max_size=v.size)))
    got = call(key, v, lam, labels=labels)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, reference(key, v, lam, labels=labels), atol=1e-12)
    at = {"v": v, "lam": lam, "G": labels} if key == "group" else {"v": v, "lam": lam}
    report = PROX[key].check(at=at)
    assert report.ok, report.summary()
    if key == "linf":
        proj = v - got  # Moreau: the projection onto the lam-ball of the L1 norm
        assert np.abs(proj).sum() <= lam * (1 + 1e-12) + 1e-12


@SETTINGS
@given(VECTORS, LAMS, LAMS)
def test_random_elastic_net(v, lam1, lam2):
    got = call("enet", v, lam1, lam2)
    np.testing.assert_allclose(got, soft(v, lam1) / (1 + lam2), rtol=1e-14, atol=1e-300)
    assert PROX["enet"].check(at={"v": v, "lam1": lam1, "lam2": lam2}).ok


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("f,match", [
    (sn.norm(X, 3), "Lp rule has no closed-form prox"),
    (LAM * sn.norm(sn.matrix("A") * X - sn.vector("b", "m"), 1), "is not x itself"),
    (sn.scalar("lam") * sn.norm(X, 1), "not known to be positive"),
    (-sn.norm(X, 1), "not known to be positive"),
    (sn.norm(X, 1) + sn.norm(X, sp.oo), "sum of different norms"),
    (sn.norm(X, 1) + sn.norm(X, 2) + sn.norm(X, sp.oo), "sum of different norms"),
    (sn.norm(X, 2) + sn.norm(X - sn.vector("a"), 1), "different arguments"),
    (LAM * sn.norm(sn.scalar("t") * X, 1), "is not x itself"),
    (LAM * sn.norm(X - sn.vector("a") * X.T * X, 1), "is not x itself"),
    (sn.norm(X, 1) ** 2, "not a multiple of a norm"),
    (sn.norm(X, 1) * sn.norm(X, 2), "not a multiple of a norm"),
    (sn.norm(X, 1) + 3, "does not depend on x"),
    (sn.norm(sn.vector("y"), 1), "does not depend on x"),
    (sn.norm(X, 0), "L0 rule has no closed-form prox"),
    (sn.norm(X, sp.Symbol("p", positive=True)), "Lp rule"),
    (sp.Symbol("n", integer=True, positive=True) * sn.norm(X, 1), "scalar constant"),
])
def test_unsupported_forms_list_the_supported_ones(f, match):
    with pytest.raises(sn.UnsupportedExpressionError, match=match) as err:
        prox(f, X)
    message = str(err.value)
    for form in ("lam*norm(x, 1)", "lam*norm(x, 2)", "lam*norm(x, oo)",
                 "lam*group_norm(x, G)", "mu/2*norm(x, 2)**2", "elastic net"):
        assert form in message


def test_bad_arguments():
    with pytest.raises(sn.ShapeError, match="scalar function"):
        prox(X, X)
    with pytest.raises(sn.UnsupportedExpressionError, match="column vector"):
        prox(sn.norm(X, 1), sn.scalar("t"))
    with pytest.raises(sn.UnsupportedExpressionError, match="column vector"):
        prox(sn.norm(X, 1), sn.matrix("A"))
    with pytest.raises(sn.UnsupportedExpressionError, match="symnorm expression"):
        prox("norm(x, 1)", X)
    k = PROX["l1"].kernel()
    with pytest.raises(ValueError, match=">= 0"):
        k(np.ones(3), -1.0)
    with pytest.raises(ValueError, match=">= 0"):
        PROX["linf"].kernel()(np.ones(3), -1.0)
    with pytest.raises(ValueError, match="one label per vector entry"):
        PROX["group"].kernel()(np.ones(3), 1.0, np.array([0, 1]))
    with pytest.raises(TypeError, match="missing"):
        k(np.ones(3))
    with pytest.raises(ValueError, match=">= 0"):
        SoftThreshold(V, -1)
    with pytest.raises(sn.ShapeError):
        SoftThreshold(LAM, 1)


# -- the prox calculus: translation, scaling of the argument, sparse group lasso -------------

A_VEC = sn.vector("a")


def test_translation_is_beck_6_11(rng):
    """prox of lam*||x - a||_1 is a + soft(v - a, lam) (Beck, First-Order Methods, 6.11)."""
    P = prox(LAM * sn.norm(X - A_VEC, 1), X)
    assert sn.to_text(P.result) == "a + soft(v - a, lam)"
    assert [s.rule for s in P.steps] == ["definition", "translation", "L1", "result"]
    assert "Thm 6.11" in P.steps[1].note
    assert P.steps[1].after.text() == "a + prox_{lam*norm(., 1)}(v - a)"
    assert P.steps[1].after.latex() == \
        r"a + \operatorname{prox}_{\lambda \lVert\cdot\rVert_{1}}\left(v - a\right)"
    assert P.report.ok and [p.name for p in P.arguments()] == ["v", "lam", "a"]
    k = P.kernel()
    for _ in range(4):
        v, a = 2 * rng.standard_normal(6), rng.standard_normal(6)
        v[0] = a[0]           # the prox lands on the kink x = a
        v[1] = a[1] + 0.5     # inside the threshold: x_1 = a_1
        lam = 0.9
        want = np.array([golden(lambda t, vi=vi, ai=ai: lam * abs(t - ai) + (t - vi) ** 2 / 2,
                                -10, 10) for vi, ai in zip(v, a)])
        got = k(v, lam, a)
        np.testing.assert_allclose(got, want, atol=1e-6)
        np.testing.assert_allclose(got, a + soft(v - a, lam), rtol=1e-15)
        assert got[0] == a[0] and got[1] == a[1]


def test_scaling_is_beck_6_12(rng):
    """prox of ||2x||_1 is (1/2) prox_{4||.||_1}(2v) = soft(v, 2) (Beck, 6.12)."""
    P = prox(sn.norm(2 * X, 1), X)
    assert sn.to_text(P.result) == "soft(v, 2)"
    assert P.result == SoftThreshold(V, 2)
    assert [s.rule for s in P.steps] == ["definition", "scaling", "positive homogeneity",
                                         "L1", "result"]
    assert P.steps[1].after.text() == "1/2*prox_{4*norm(., 1)}(2*v)"
    assert "Thm 6.12" in P.steps[1].note and P.report.ok
    v = np.array([3.0, -1.0, 2.0, 0.0, -2.5])
    np.testing.assert_array_equal(P.kernel()(v), [1.0, 0.0, 0.0, 0.0, -0.5])
    want = [golden(lambda t, vi=vi: 2 * abs(t) + (t - vi) ** 2 / 2, -5, 5) for vi in v]
    np.testing.assert_allclose(P.kernel()(v), want, atol=1e-6)
    # a negative factor and the L2 norm: ||-3x||_2 = 3 ||x||_2
    Q = prox(LAM * sn.norm(-3 * X, 2), X)
    assert sn.to_text(Q.result) == "max(0, 1 - 3*lam/norm(v, 2))*v"
    for _ in range(3):
        v = rng.standard_normal(4)
        np.testing.assert_allclose(Q.kernel()(v, 0.2), block_soft(v, 0.6), rtol=1e-14)


def test_scaling_and_translation_together(rng):
    """lam*||2x - a||_1: (1/2)(a + soft(2v - a, 4 lam)), against the coordinatewise minimum."""
    P = prox(LAM * sn.norm(2 * X - A_VEC, 1), X)
    assert sn.to_text(P.result) == "(a + soft(2*v - a, 4*lam))/2"
    assert [s.rule for s in P.steps] == ["definition", "scaling", "translation", "L1",
                                         "result"]
    k = P.kernel()
    lam = 0.7
    for _ in range(3):
        v, a = 2 * rng.standard_normal(5), rng.standard_normal(5)
        want = [golden(lambda t, vi=vi, ai=ai: lam * abs(2 * t - ai) + (t - vi) ** 2 / 2,
                       -10, 10) for vi, ai in zip(v, a)]
        np.testing.assert_allclose(k(v, lam, a), want, atol=1e-6)


def test_translation_with_a_quadratic_term(rng):
    """lam*||x - a||_2 + mu/2 ||x||^2: the quadratic step, then the translation."""
    P = prox(LAM * sn.norm(X - A_VEC, 2) + MU / 2 * sn.norm(X, 2) ** 2, X)
    assert [s.rule for s in P.steps] == ["definition", "quadratic term", "translation", "L2",
                                         "result"]
    lam, mu = 0.8, 0.5
    for scale in (0.1, 1.0, 3.0):
        v, a = scale * rng.standard_normal(2), rng.standard_normal(2)
        F = lambda z, v=v, a=a: (lam * np.linalg.norm(z - a) + mu / 2 * z @ z  # noqa: E731
                                 + 0.5 * np.sum((z - v) ** 2))
        want = argmin_2d(F, float(np.abs(v).sum() + np.abs(a).sum()) + 2)
        np.testing.assert_allclose(P.kernel()(v, lam, mu, a), want, atol=1e-6)
    assert P.report.ok


@pytest.mark.parametrize("p", [2, sp.oo])
def test_translation_of_other_norms(p, rng):
    P = prox(LAM * sn.norm(X - A_VEC, p), X)
    base = prox(LAM * sn.norm(X, p), X).kernel()
    for _ in range(4):
        v, a = 2 * rng.standard_normal(5), rng.standard_normal(5)
        np.testing.assert_allclose(P.kernel()(v, 1.1, a), a + base(v - a, 1.1), atol=1e-14)
    assert P.report.ok and P.check(points=9, seed=4).ok


def test_sparse_group_lasso(rng):
    """lam*||x||_1 + mu*||x||_2: block_soft(soft(v, lam), mu), against a 2-d minimiser."""
    P = prox(LAM * sn.norm(X, 1) + MU * sn.norm(X, 2), X)
    assert sn.to_text(P.result) == "max(0, 1 - mu/norm(soft(v, lam), 2))*soft(v, lam)"
    assert [s.rule for s in P.steps] == ["definition", "sparse group lasso", "L1, then L2",
                                         "result"]
    assert P.steps[1].after.text() == "prox_{mu*norm(., 2)}(prox_{lam*norm(., 1)}(v))"
    lam, mu = 0.6, 0.5
    k = P.kernel()
    for v in POINTS_2D + [2 * rng.standard_normal(2) for _ in range(3)]:
        F = lambda z, v=v: (lam * np.abs(z).sum() + mu * np.linalg.norm(z)  # noqa: E731
                            + 0.5 * np.sum((z - v) ** 2))
        want = argmin_2d(F, float(np.abs(v).sum()) + 1)
        np.testing.assert_allclose(k(v, lam, mu), want, atol=1e-6, err_msg=f"v={v}")
        # to a few ulps: short norms come from math.hypot here, from np.linalg.norm there
        np.testing.assert_allclose(k(v, lam, mu), block_soft(soft(v, lam), mu), rtol=8e-15)
    report = P.check(points=12, seed=2)
    assert report.ok, report.summary()
    assert any(not np.any(p.prox) for p in report.points)  # the whole prox is 0 somewhere


def test_sparse_group_lasso_with_groups_and_a_quadratic_term(rng):
    P = prox(LAM * sn.norm(X, 1) + MU * group_norm(X, G), X)
    assert sn.to_text(P.result) == "group_shrink(soft(v, lam), mu, G)"
    labels = np.array([0, 1, 0, 2, 1])
    for _ in range(3):
        v = 2 * rng.standard_normal(5)
        np.testing.assert_allclose(P.kernel()(v, 0.4, 0.7, labels),
                                   group_reference(soft(v, 0.4), 0.7, labels), rtol=1e-15)
    assert P.report.ok
    Q = prox(LAM * sn.norm(X, 1) + MU * sn.norm(X, 2) + sn.norm(X, 2) ** 2 / 2, X)
    assert sn.to_text(Q.result) == "max(0, 1 - mu/norm(soft(v, lam), 2))*soft(v, lam)/2"
    v = np.array([3.0, -0.2, 1.5])
    np.testing.assert_allclose(Q.kernel()(v, 0.5, 0.4),
                               block_soft(soft(v, 0.5), 0.4) / 2, rtol=1e-15)


def test_the_check_catches_a_wrong_composite():
    P = prox(LAM * sn.norm(X - A_VEC, 1), X)
    wrong = dataclasses.replace(P, result=A_VEC + SoftThreshold(V, LAM), report=None)
    assert not wrong.check(points=6, seed=3).ok
    S = prox(LAM * sn.norm(X, 1) + MU * sn.norm(X, 2), X)
    swapped = dataclasses.replace(  # the composition in the wrong order
        S, result=SoftThreshold(sp.MatMul(sp.Max(0, 1 - MU / sn.norm(V, 2)), V), LAM),
        report=None)
    report = swapped.check(points=9, seed=1)
    assert not report.ok and "implied subgradient" in report.summary()
