"""The fast path of a kernel call: a prologue written and compiled once per kernel.

What can be decided when a kernel is built is decided then, and written into the source
of one small function (:func:`fast_call`): the argument order and names, which arguments
are vectors, matrices, scalars or labels, which sizes are fixed numbers, which sizes must
agree because they are the same dimension symbol, which arguments carry a declared
structure to check, and the result's shape in terms of those sizes. A call then costs a
few type, dtype and shape comparisons before the kernel's own numpy code runs.

The fast path accepts the common call and nothing else: numpy arrays (exactly
``np.ndarray``) of one floating dtype, passed all positionally or all by name, with
either no batch axes or the same batch axes on every batched argument; scalar arguments
may also be Python floats and integers. Every other call — lists, integer arrays, mixed
dtypes, batches that broadcast, ``(k, 1)`` columns, masked arrays, arrays of other
libraries, and every call that is wrong in any way — goes to the general path,
``Kernel._call_general``, which converts, checks, and names what is wrong. The fast path
never raises an error of its own and never computes anything the general path would
compute differently: it hands over instead (the tests compare both paths on random
calls). Kernels built in any way get it: :class:`~symnorm.kernels.kernel.Kernel`
writes it in its constructor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: Python integers that numpy reads as int64 (larger ones take the general path)
_INT64 = 2 ** 63


def common_batch(shapes: tuple, cores: tuple, vectors: tuple) -> tuple | None:
    """The batch shape shared by every argument that has one, or None when the general
    path must decide (a core axis missing, a possible ``(k, 1)`` column, batches that
    differ and might broadcast, or might not)."""
    batch: tuple = ()
    for shape, core, vector in zip(shapes, cores, vectors):
        nd = len(shape)
        if nd < core or (vector and nd >= 2 and shape[-1] == 1):
            return None
        own = shape[:nd - core]
        if own:
            if not batch:
                batch = own
            elif own != batch:
                return None
    return batch


def general_call(kernel: Any, values: tuple, named: dict, out: Any) -> Any:
    """The fast path of a kernel that has none (no vector or matrix argument)."""
    return kernel._call_general(values, named, out)


def fast_call(kernel: Any) -> Callable[[Any, tuple, dict, Any], Any]:
    """``f(kernel, values, named, out)``: the call of ``kernel`` specialised to its
    arguments (see the module docstring); the source is kept as ``f.source``."""
    specs, keys = kernel._specs, kernel._keys
    voting = [i for i, s in enumerate(specs) if s.kind in ("vector", "matrix")]
    if not voting:
        return general_call
    n = len(specs)
    a = [f"a{i}" for i in range(n)]
    general = "return _k._call_general(_v, _n, out)"
    lines = ["def fast(_k, _v, _n, out):", "    if _n:",
             f"        if _v or len(_n) != {n}:", f"            {general}",
             "        try:"]
    lines += [f"            {a[i]} = _n[{s.name!r}]" for i, s in enumerate(specs)]
    lines += ["        except KeyError:", f"            {general}"]
    if not kernel._same_kind:  # else a positional call passing all is always refused
        lines += [f"    elif len(_v) == {n}:", f"        {', '.join(a)}, = _v"]
    lines += ["    else:", f"        {general}"]

    arrays = [i for i, s in enumerate(specs) if s.kind != "scalar"]
    lines.append(f"    if {' or '.join(f'type({a[i]}) is not _nd' for i in arrays)}:")
    lines.append(f"        {general}")
    first = voting[0]
    lines.append(f"    _dt = {a[first]}.dtype")
    same = ["_dt.kind != 'f'"] + [f"{a[i]}.dtype is not _dt" for i in voting[1:]]
    same += [f"{a[i]}.dtype.kind not in 'fiub'" for i, s in enumerate(specs)
             if s.kind == "labels"]
    lines += [f"    if {' or '.join(same)}:", f"        {general}"]
    for i, s in enumerate(specs):
        if s.kind != "scalar":
            continue
        v = a[i]
        lines += [f"    if type({v}) is _nd:",
                  f"        if {v}.dtype is not _dt:", f"            {general}",
                  f"    elif type({v}) is float:", f"        {v} = _asarray({v}, _dt)",
                  f"    elif type({v}) is int and -_INT64 <= {v} < _INT64:",
                  f"        {v} = _asarray(float({v}), _dt)",
                  "    else:", f"        {general}"]

    shapes = [f"s{i}" for i in range(n)]
    cores = [len(k) for k in keys]
    lines.append("    " + "; ".join(f"{shapes[i]} = {a[i]}.shape" for i in range(n)))
    exact = " and ".join(f"len({shapes[i]}) == {cores[i]}" for i in range(n))
    vectors = tuple(s.kind == "vector" for s in specs)
    lines += [f"    if {exact}:", "        _b = ()", "    else:",
              f"        _b = _common_batch(({', '.join(shapes)},), {tuple(cores)!r}, "
              f"{vectors!r})",
              "        if _b is None:", f"            {general}"]

    # sizes: the first axis of each dimension symbol binds it, every other must agree
    bound: dict[int, str] = {}
    tests = []
    for i, k in enumerate(keys):
        for axis, key in enumerate(k):
            size = f"{shapes[i]}[{axis - len(k)}]"
            if key is None:
                continue
            if key >= 0:
                tests.append(f"{size} != {key}")
            elif key in bound:
                tests.append(f"{size} != {bound[key]}")
            else:
                bound[key] = f"d{-key}"
                lines.append(f"    {bound[key]} = {size}")
    if tests:
        lines += [f"    if {' or '.join(tests)}:", f"        {general}"]

    checks = {f"_check{i}": check for i, check in kernel._value_checks}
    lines += [f"    _check{i}({a[i]})" for i, _check in kernel._value_checks]

    result = []
    for key in kernel._result_keys:
        if key is not None and key >= 0:
            result.append(str(key))
        elif key in bound:
            result.append(bound[key])
        else:
            result = None
            break
    call = ", ".join(a)
    lines.append("    if out is None:")
    lines.append(f"        _r = _k._func({call}, out=None)")
    if result is None:
        lines += ["        if type(_r) is _nd and _r.dtype is _dt:", "            return _r",
                  "        return _k._finish(_r, None, _dt)",
                  f"    return _k._call_out([{call}], out, None, False)"]
    else:
        shape = f"(*_b, {', '.join(result)})" if result else "_b"
        lines += [f"        _s = {shape}",
                  "        if type(_r) is _nd and _r.shape == _s and _r.dtype is _dt:",
                  "            return _r",
                  "        return _k._finish(_r, _s, _dt)",
                  f"    return _k._call_out([{call}], out, {shape}, False)"]
    source = "\n".join(lines) + "\n"
    namespace: dict = {"_nd": np.ndarray, "_asarray": np.asarray, "_INT64": _INT64,
                       "_common_batch": common_batch, **checks}
    exec(compile(source, f"<symnorm kernel call: {', '.join(kernel.arg_names)}>", "exec"),
         namespace)
    f = namespace["fast"]
    f.source = source
    return f
