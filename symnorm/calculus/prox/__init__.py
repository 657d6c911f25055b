"""Proximal operators: derived from the rules' closed forms (vector and matrix norms),
each with a kernel and a check of its optimality condition.
"""
