"""Gradient stage: one gradient four ways, and gradients through Python control flow."""
