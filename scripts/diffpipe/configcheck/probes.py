"""Probes of users' `module:function` references, before any job calls them.

Each is imported and evaluated once at a point, in bounded time.
"""

import contextlib
import signal
import threading

from diffpipe.configcheck.errors import ConfigError


def _resolve_function(name: str, where: str):
    from diffpipe.functions import FunctionLookupError, resolve

    try:
        return resolve(name)
    except FunctionLookupError as err:
        raise ConfigError(f"config key '{where}': {err}") from None


def probe_function(ref: str, points: list, where: str) -> None:
    """Resolve a function and call it, with its JAX gradient, once at each point.

    The jobs call `f(x, jax.numpy)` and differentiate it: a function that cannot take the
    point's dimension, returns no scalar, raises, or gives a non-finite value or gradient fails
    here, before any job.

    Args:
        ref: registry name or `module:function`.
        points: the points the config evaluates it at (gradient points or optimizer starts).
        where: the config key naming the function.

    Raises:
        ConfigError: naming `where`, the point and what went wrong, or that it took longer than
            PROBE_TIMEOUT_S (importing the module included).
    """
    with _time_limit(PROBE_TIMEOUT_S, f"config key '{where}': {ref} did not return within {PROBE_TIMEOUT_S} s"):
        _probe_function(ref, points, where)


PROBE_TIMEOUT_S = 5  # with start-up and imports, a check stays under 10 s


@contextlib.contextmanager
def _time_limit(seconds: float, message: str):
    """Raise ConfigError(message) when the body runs longer than `seconds` (main thread only).

    A user function that never returns must not hang the workflow's parsing; elsewhere (a
    thread without signals) the body runs unbounded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise _TimeUp  # not an Exception: user code's `except Exception` does not swallow it

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _TimeUp:
        raise ConfigError(message) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _TimeUp(BaseException):
    """Raised by the alarm of `_time_limit`."""


def _probe_function(ref: str, points: list, where: str) -> None:
    func = _resolve_function(ref, where)
    from diffpipe.runtime import enable_float64

    enable_float64()
    import jax
    import jax.numpy as jnp
    import numpy as np

    def value(x):
        return func.fn(x, jnp)

    for point in points:
        x = jnp.asarray(point, dtype=jnp.float64)
        try:
            f = value(x)
            if jnp.shape(f) != ():
                raise ValueError(f"returns shape {tuple(jnp.shape(f))}, not a scalar")
            grad = np.asarray(jax.grad(value)(x))
        except Exception as err:  # anything a user function raises is a config error
            raise ConfigError(f"config key '{where}': {ref} at {list(point)}: {type(err).__name__}: {err}") from None
        if not np.isfinite(float(f)):
            raise ConfigError(f"config key '{where}': {ref} at {list(point)} returns {float(f)}, not a finite number")
        if not np.all(np.isfinite(grad)):
            raise ConfigError(f"config key '{where}': the gradient of {ref} at {list(point)} is not finite: {grad}")
