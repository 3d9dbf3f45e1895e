"""The Particle Data Group's rounding of a value and its uncertainty.

The uncertainty's three highest digits decide its significant digits: 100-354 two, 355-949 one,
950-999 rounded up to 1000 and two; the value is rounded to the same decimal place (RPP,
"Introduction: rounding").
"""

import math


def pdg_digits(error: float) -> int:
    """The decimal place the PDG rule rounds to (as `round`'s ndigits).

    Args:
        error: the uncertainty (positive, finite).

    Returns:
        ndigits: the number of decimals (negative for tens, hundreds, ...).
    """
    exponent = math.floor(math.log10(error))
    three = math.floor(error / 10 ** (exponent - 2) * (1 + 1e-12))  # the three highest digits, 100..999
    if three >= 1000:  # log10 rounded down past a power of ten
        exponent, three = exponent + 1, three // 10
    if three <= 354:
        kept = 2
    elif three <= 949:
        kept = 1
    else:  # 950-999: up to 1000, two digits
        exponent, kept = exponent + 1, 2
    return kept - 1 - exponent


def pdg_round(value: float, error: float) -> tuple[str, str]:
    """A value and its uncertainty as strings, rounded by the PDG rule.

    Args:
        value: the central value.
        error: its uncertainty (a missing, zero or non-finite one: the value with 4 significant
            digits and an empty uncertainty).

    Returns:
        (value, uncertainty) as printed.
    """
    if value is None or not math.isfinite(value):
        return "—", ""
    if error is None or not math.isfinite(error) or error <= 0:
        return f"{value:.4g}", ""
    ndigits = pdg_digits(error)
    if ndigits > 0:
        return f"{round(value, ndigits):.{ndigits}f}", f"{round(error, ndigits):.{ndigits}f}"
    return f"{round(value, ndigits):.0f}", f"{round(error, ndigits):.0f}"


def with_error(value: float, error: float, separator: str = " ± ") -> str:
    """`value ± error`, PDG-rounded (the value alone where the error is missing).

    Args:
        value: the central value.
        error: its uncertainty.
        separator: between the two.

    Returns:
        The text.
    """
    shown, err = pdg_round(value, error)
    return f"{shown}{separator}{err}" if err else shown
