"""A user-supplied function, referenced from config as `user_functions:cubic_bowl`."""


def cubic_bowl(x, xp):
    return xp.sum(x**4 / 4.0 + x**2)
