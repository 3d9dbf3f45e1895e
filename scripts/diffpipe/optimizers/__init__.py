"""Optimizer stage: scipy.optimize.minimize with and without exact JAX derivatives."""
