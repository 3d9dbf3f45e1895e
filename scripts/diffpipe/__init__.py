"""diffpipe: the library behind the pipeline's rules.

Shared modules (imported by any stage): artifacts, storage, provenance, runtime, configcheck,
codedeps, functions, models, escape, figstyle. Stage packages (gradients, optimizers,
likelihood, fractals, benchmark, plots, report) import shared modules only, never each other.
"""
