"""The numerical check: a claimed gradient, Hessian or subgradient against finite
differences at sampled points of the domain, with a report.

Uses the kernels and everything below them; it never derives anything itself.
"""
