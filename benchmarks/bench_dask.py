"""A gradient and a prox kernel on a chunked Dask array of 1e8 entries, out of core.

Run::

    python benchmarks/bench_dask.py                    # n = 1e8, chunks of 5e6
    python benchmarks/bench_dask.py --n 1e6 --chunk 1e5

On a ``dask.distributed`` ``LocalCluster`` (2 workers, 1 thread each, in this process)
the script computes, for ``u`` a lazily generated random vector scaled by 1e200 (so the
plain sum of squares overflows and the overflow-safe reduction is needed):

* ``g = ∇‖u‖₂`` (symnorm's kernel: one reduction pass, then the elementwise pass),
  reduced to ``‖g‖₂`` (must be 1) and checked on its first entries;
* ``soft(u, lam)``, the prox of ``lam‖u‖₁`` (one elementwise pass), reduced to its
  number of nonzeros;

and reports wall time and the peak resident memory of the process against the size of
``u`` (8 bytes an entry): a result far below that size means the kernels streamed the
chunks instead of holding the vector.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(n: int, chunk: int, workers: int = 2) -> dict:
    """Times (s) and peak memory (MB) of the two kernels on ``n`` entries."""
    import dask
    import dask.array as da
    from distributed import Client, LocalCluster

    import symnorm as sn

    x, lam = sn.vector("x"), sn.scalar("lam", positive=True)
    grad = sn.grad(sn.norm(x, 2), x).kernel()
    prox = sn.prox(lam * sn.norm(x, 1), x).kernel()
    result: dict = {"n": n, "chunk": chunk, "array_mb": 8 * n / 2**20,
                    "rss_before_mb": peak_rss_mb()}
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster):
        u = da.random.default_rng(0).standard_normal(n, chunks=chunk) * 1e200
        start = time.perf_counter()
        g = grad(u)                                   # runs the reduction pass
        norm_g, head, u_head = dask.compute(da.sqrt(da.sum(g * g)), g[:4], u[:4])
        result["grad_s"] = time.perf_counter() - start
        result["grad_norm"] = float(norm_g)
        # g = u/‖u‖: the ratios of the first entries are those of u
        result["grad_head_ok"] = bool(np.allclose(head / head[0], u_head / u_head[0],
                                                  rtol=1e-12))
        start = time.perf_counter()
        nonzero = int(da.count_nonzero(prox(u, 1e200)).compute())
        result["prox_s"] = time.perf_counter() - start
        result["prox_nonzero_fraction"] = nonzero / n
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", default="1e8")
    ap.add_argument("--chunk", default="5e6")
    args = ap.parse_args(argv)
    r = run(int(float(args.n)), int(float(args.chunk)))
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    for key, value in r.items():
        print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")


if __name__ == "__main__":
    main()
