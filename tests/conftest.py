"""Shared fixtures: the usual symbols, and a seeded random generator."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symnorm as sn


@pytest.fixture
def syms() -> dict:
    return {
        "x": sn.vector("x"), "a": sn.vector("a"), "b": sn.vector("b", "m"),
        "A": sn.matrix("A"), "M": sn.matrix("M", "n", "n"),
        "lam": sn.scalar("lam", positive=True), "mu": sn.scalar("mu", positive=True),
        "p": sn.scalar("p"), "oo": sp.oo,
    }


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
