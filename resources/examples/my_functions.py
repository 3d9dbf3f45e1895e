"""A user function for the README's first experiment: f(x, xp) with xp the array namespace."""


def wave(x, xp):
    """sum(sin(x_i)^2 * exp(-x_i^2 / 8)): one body for NumPy, JAX and TensorFlow.

    Args:
        x: 1-D array.
        xp: array namespace (numpy, jax.numpy or diffpipe's TensorFlow namespace).

    Returns:
        The scalar value.
    """
    return xp.sum(xp.sin(x) ** 2 * xp.exp(-(x**2) / 8.0))
