"""A user-supplied function, referenced from config as `user_functions:cubic_bowl`."""


def cubic_bowl(x, xp):
    return xp.sum(x**4 / 4.0 + x**2)


def vector_valued(x, xp):
    """Not a valid test function: returns a vector (the configuration check refuses it)."""
    return x * 2.0
