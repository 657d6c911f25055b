"""Backpropagation: networks with named layers, the chain rule as deltas and update
rules, and one fused kernel for training (numpy source, run as it is or on JAX, PyTorch,
CuPy and Dask arrays: :mod:`.backends`).

Uses the calculus (the engine derives every delta) and every layer below it.

>>> import symnorm as sn
>>> bp = sn.backprop(sn.mlp([2, 3, 2]))
>>> print(sn.to_text(bp.grads["W2"]))
delta2*h1.T
"""

from .derivation import backprop
from .kernel import BackpropKernel, KernelArgumentError
from .network import ACTIVATIONS, Network, NetworkError, frobenius_squared, mlp
from .result import Backprop, Component, UpdateRule
from .train import TrainResult, init_params, train

__all__ = ["ACTIVATIONS", "Backprop", "BackpropKernel", "Component", "KernelArgumentError",
           "Network", "NetworkError", "TrainResult", "UpdateRule", "backprop", "frobenius_squared",
           "init_params", "mlp", "train"]
