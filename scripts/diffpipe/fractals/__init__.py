"""Fractal stage: escape counts of each configured Mandelbrot or Julia set."""
