"""``sn.train``: gradient descent with the fused backprop kernel.

Each step calls the kernel once (forward pass and every gradient) on a mini-batch and
applies the update rules ``P ← P − η ∂L/∂P`` the derivation shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..kernels.backends.array_api import to_numpy
from ..kernels.backends.registry import library_of, namespace
from ..model.errors import ShapeError
from .derivation import backprop
from .kernel import KernelArgumentError, build_forward
from .network import Network, NetworkError
from .result import Backprop


@dataclass(repr=False)
class TrainResult:
    """Trained parameters (``params``, by name), the mean training loss of every epoch
    (``losses``), and ``predict(X)`` for the trained network.

    Made by :func:`symnorm.train`; not built by hand.

    Parameters
    ----------
    network : Network
        The network trained.
    params : dict of str to array
        The trained parameters by name (arrays of the library the data came in).
    losses : list of float
        The mean training loss of every epoch.
    eta : float
        The step size used.
    epochs : int
        The number of epochs run.
    batch_size : int
        The mini-batch size used.
    constants : dict of str to float, optional
        The values given to scalar symbols of the loss (``lam``).

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> X, T = np.array([[1.0], [2.0]]), np.array([[2.0], [4.0]])
    >>> r = sn.train(sn.mlp([1, 1], "identity"), X, T, eta=0.1, epochs=200)
    >>> r.epochs, r.batch_size, len(r.losses)
    (200, 2, 200)
    >>> np.round(r.params["W1"], 6)
    array([[2.]])
    >>> np.round(r.predict(np.array([[3.0]])), 6)
    array([[6.]])
    """

    network: Network
    params: dict[str, Any]
    losses: list[float]
    eta: float
    epochs: int
    batch_size: int
    constants: dict[str, float] = field(default_factory=dict)
    _forward: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        loss = (f", loss {self.losses[0]:.4g} -> {self.losses[-1]:.4g}" if self.losses
                else "")
        return (f"<TrainResult {'-'.join(map(str, self.network.sizes))} network, "
                f"{self.epochs} epochs, eta {self.eta:g}, batch {self.batch_size}{loss}>")

    def predict(self, X: Any, params: dict[str, Any] | None = None) -> np.ndarray:
        """The network output for the rows of ``X`` (with ``params``, default the trained),
        computed with numpy (arrays of other libraries are copied to the host).

        >>> import numpy as np, symnorm as sn
        >>> net = sn.mlp([1, 1], "identity")
        >>> r = sn.train(net, np.array([[1.0], [2.0]]), np.array([[2.0], [4.0]]),
        ...              eta=0.1, epochs=200, progress=False)
        >>> np.round(r.predict(np.array([[3.0]])), 3)
        array([[6.]])
        """
        if self._forward is None:
            self._forward = build_forward(self.network)
        values = params if params is not None else self.params
        host = {p.name: _host(values[p.name]) for p in self.network.params}
        return self._forward(x=_host(X), **host)


def init_params(net: Network, seed: int = 0) -> dict[str, np.ndarray]:
    """Glorot-uniform weights, zero biases, unit gains and zero shifts of the
    normalisations (a reproducible start for :func:`train`).

    >>> import symnorm as sn
    >>> p = init_params(sn.mlp([2, 3, 2], bias=True))
    >>> {k: v.shape for k, v in p.items()}
    {'W1': (3, 2), 'b1': (3,), 'W2': (2, 3), 'b2': (2,)}
    """
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for layer in net.layers:
        n_out, n_in = (int(d) for d in layer.W.shape)
        bound = np.sqrt(6.0 / (n_in + n_out))
        out[layer.W.name] = rng.uniform(-bound, bound, size=(n_out, n_in))
        if layer.b is not None:
            out[layer.b.name] = np.zeros(n_out)
        if layer.norm is not None:
            out[layer.norm.gain.name] = np.ones(n_out)
            if layer.norm.shift is not None:
                out[layer.norm.shift.name] = np.zeros(n_out)
    return out


def _progress(total: int, enabled: bool | None) -> Callable[[Any], Any]:
    if enabled is False:
        return lambda it: it
    try:
        from tqdm.auto import tqdm
    except ImportError:  # no progress bar without tqdm
        return lambda it: it
    if enabled is None and total < 2000:
        return lambda it: it
    return lambda it: tqdm(it, desc="training", unit="epoch")


def train(net: Network | Backprop, X: Any, T: Any, *, eta: float = 0.5, epochs: int = 100,
          batch_size: int | None = None, init: dict[str, Any] | None = None, seed: int = 0,
          shuffle: bool = True, progress: bool | None = None,
          **constants: float) -> TrainResult:
    """Train ``net`` on the rows of ``X`` (inputs) and ``T`` (targets) by gradient descent.

    Each step calls the fused backprop kernel once (the forward pass and every
    gradient) on a mini-batch and applies the update rules ``P ← P − η ∂L/∂P`` the
    derivation shows. The loss of each step is the mean over its mini-batch;
    ``losses`` holds each epoch's mean.

    ``X`` and ``T`` may be PyTorch, JAX or CuPy arrays: each step then computes with that
    library and the trained parameters are its arrays. With Dask arrays each step's
    gradient is reduced chunk by chunk (the batch never whole in memory) and computed,
    and the parameters are numpy arrays.

    Parameters
    ----------
    net : Network or Backprop
        A network from :func:`mlp`, or its :func:`backprop` (derived once, reused).
    X : array_like
        The inputs, one sample a row: shape ``(samples, n_in)``.
    T : array_like
        The targets: shape ``(samples, n_out)`` (a 1-D array when ``n_out`` is 1).
    eta : float, optional
        The step size (default 0.5).
    epochs : int, optional
        Passes over the data (default 100).
    batch_size : int, optional
        The mini-batch size (default: the whole data set).
    init : dict of str to array_like, optional
        Starting parameters by name, every one of them (default: Glorot-uniform
        weights, zero biases, unit gains, seeded by ``seed``).
    seed : int, optional
        Seed of the initial parameters and the shuffling (default 0).
    shuffle : bool, optional
        Shuffle the samples every epoch when mini-batches are used (default True).
    progress : bool, optional
        Show a progress bar (tqdm, when installed): by default when the run is long;
        ``True`` forces it, ``False`` hides it.
    **constants : float
        The values of scalar symbols in the loss (``lam=0.01`` for a symbolic weight
        decay).

    Returns
    -------
    TrainResult
        ``params``, ``losses``, ``predict(X)``.

    Raises
    ------
    ShapeError
        If ``X`` or ``T`` does not have the shape the network needs.
    NetworkError
        If ``net`` is a backprop of a loss that is not a network.
    ValueError
        If ``epochs`` or ``batch_size`` is not a valid count.
    TypeError
        If a constant of the loss is missing or unknown, or ``init`` misses a
        parameter: a ``KernelArgumentError``, also a :class:`SymnormError`.
    CheckFailedError
        If ``net`` is a network whose backprop fails its check.

    Examples
    --------
    >>> import numpy as np, symnorm as sn
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 2)); T = (X[:, :1] > 0).astype(float)
    >>> r = sn.train(sn.mlp([2, 3, 1], bias=True), X, T, eta=2.0, epochs=300)
    >>> r.losses[-1] < r.losses[0]
    True
    >>> net = sn.mlp([1, 1], "identity", weight_decay="lam")
    >>> X1, T1 = np.array([[1.0], [2.0]]), np.array([[2.0], [4.0]])
    >>> sn.train(net, X1, T1, eta=0.1, epochs=200, lam=0.01).constants
    {'lam': 0.01}
    >>> sn.train(net, X1, T1)
    Traceback (most recent call last):
    ...
    symnorm.backprop.helpers.KernelArgumentError: train(): give the value of lam (e.g. lam=0.01)
    """
    bp = net if isinstance(net, Backprop) else backprop(net)
    if bp.network is None:
        raise NetworkError("train() needs a network from sn.mlp (or its sn.backprop)")
    network = bp.network
    lib = _library(X, T)
    if lib is None:
        X = np.asarray(X, dtype=float)
        T = np.asarray(T, dtype=float)
    n_in, n_out = network.sizes[0], network.sizes[-1]
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ShapeError(f"X must have shape (samples, {n_in}), got {X.shape}")
    if T.ndim == 1 and n_out == 1:
        T = T[:, None]
    if T.shape != (X.shape[0], n_out):
        raise ShapeError(f"T must have shape ({X.shape[0]}, {n_out}) to match X, got {T.shape}")
    if not (isinstance(epochs, int) and epochs >= 0):
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    k = bp.kernel(reduce="mean")
    names = [p.name for p in network.params]
    needed = [n for n in k.arg_names if n not in names and n not in ("x", "t")]
    missing = [n for n in needed if n not in constants]
    unknown = [n for n in constants if n not in needed]
    if missing or unknown:
        raise KernelArgumentError(
            "train(): " + "; ".join(filter(None, [
                f"give the value of {', '.join(missing)} (e.g. {missing[0]}=0.01)"
                if missing else "",
                f"unknown constant(s) {', '.join(unknown)}" if unknown else ""])))
    params = init_params(network, seed) if init is None else {
        n: np.array(init[n], dtype=float) for n in names}
    if set(params) != set(names):
        raise KernelArgumentError(f"init must give {', '.join(names)}, got "
                                  f"{', '.join(params)}")
    if lib is not None:
        return _train_on(lib, bp, k, X, T, params, constants, eta, epochs, batch_size,
                         seed, shuffle, progress)
    size = X.shape[0] if batch_size is None else int(batch_size)
    if size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size!r}")
    rng = np.random.default_rng(seed)
    losses: list[float] = []
    order = np.arange(X.shape[0])
    bar = _progress(epochs * max(1, X.shape[0] // size), progress)(range(epochs))
    for _ in bar:
        if shuffle and size < X.shape[0]:
            rng.shuffle(order)
        total = 0.0
        for start in range(0, X.shape[0], size):
            idx = order[start:start + size]
            out = k(x=X[idx], t=T[idx], **params, **constants)
            for n in names:
                params[n] -= eta * out[n]
            total += float(out["loss"]) * len(idx)
        losses.append(total / X.shape[0])
        if hasattr(bar, "set_postfix"):  # the progress bar shows the epoch's loss
            bar.set_postfix(loss=f"{losses[-1]:.4g}", refresh=False)
    return TrainResult(network, params, losses, eta, epochs, size, dict(constants))


def _library(X: Any, T: Any) -> str | None:
    """The array library of the data when it is not numpy (arrays, lists: None)."""

    for v in (X, T):
        lib = library_of(v)
        if lib not in (None, "numpy"):
            return lib
    return None


def _host(a: Any) -> Any:
    return to_numpy(a) if library_of(a) not in (None, "numpy") else a


def _train_on(lib: str, bp: Backprop, k: Any, X: Any, T: Any, params: dict,
              constants: dict, eta: float, epochs: int, batch_size: int | None, seed: int,
              shuffle: bool, progress: bool | None) -> TrainResult:
    """:func:`train` on the arrays of another library (the same steps, the same order)."""

    network = bp.network
    n_in, n_out = network.sizes[0], network.sizes[-1]
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ShapeError(f"X must have shape (samples, {n_in}), got {tuple(X.shape)}")
    if T.ndim == 1 and n_out == 1:
        T = T[:, None]
    if tuple(T.shape) != (X.shape[0], n_out):
        raise ShapeError(f"T must have shape ({X.shape[0]}, {n_out}) to match X, got "
                         f"{tuple(T.shape)}")
    names = [p.name for p in network.params]
    if lib == "jax":  # compiled once per batch shape instead of op by op
        k = bp.kernel(reduce="mean", backend="jax")
    if lib != "dask":  # the parameters live where the data lives, in its float dtype
        xp = namespace(lib)
        data = X if xp.isdtype(X.dtype, "real floating") else T
        from array_api_compat import device

        params = {n: xp.asarray(v, device=device(data)) for n, v in params.items()}
        if xp.isdtype(data.dtype, "real floating"):
            params = {n: xp.astype(v, data.dtype) for n, v in params.items()}
    count = int(X.shape[0])
    size = count if batch_size is None else int(batch_size)
    if size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size!r}")
    rng = np.random.default_rng(seed)
    losses: list[float] = []
    order = np.arange(count)
    bar = _progress(epochs * max(1, count // size), progress)(range(epochs))
    for _ in bar:
        if shuffle and size < count:
            rng.shuffle(order)
        total = 0.0
        for start in range(0, count, size):
            idx = order[start:start + size]
            whole = len(idx) == count and not (shuffle and size < count)
            xb, tb = (X, T) if whole else (X[idx], T[idx])
            out = k(x=xb, t=tb, **params, **constants)
            if lib == "dask":  # one pass over the chunks for every gradient and the loss
                import dask

                out = dask.compute(out)[0]
            for n in names:
                params[n] = params[n] - eta * out[n]
            total += float(out["loss"]) * len(idx)
        losses.append(total / count)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{losses[-1]:.4g}", refresh=False)
    return TrainResult(network, params, losses, eta, epochs, size, dict(constants))
