"""Derivations: the engine and its record, index notation, Hessians, subdifferentials,
proximal operators, dual norms, norm axioms, Sobolev norms and regularisation.

Uses every layer below (model, rules, printers, readers, kernels, check).
"""
