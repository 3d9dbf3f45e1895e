"""Inference stage: limits, significance, impacts, goodness of fit, yields and signal grids."""
