import numpy as np
import pytest

from diffpipe.functions import REGISTRY, resolve
from diffpipe.gradients import gradients


def test_notebook_examples_agree_across_all_methods():
    table = gradients.gradient_table(
        {
            "square": {"function": "shifted_square", "points": [[3.0]]},
            "four_d": {"function": "sum_of_shifts_squared", "points": [[1.0, 1.0, 1.0, 1.0]]},
        },
        rtol=1e-6,
        fd_rtol=1e-6,
        floor=1.0,
    )
    assert table["passed"].all()
    # d/dx (x-1)^2 at 3 is 4; the 4-d function at ones: 2 * (4 - 6) = -4 per component.
    assert table.loc[table["function"] == "square", "jax"].item() == pytest.approx(4.0)
    np.testing.assert_allclose(table.loc[table["function"] == "four_d", "tensorflow"], -4.0)


def test_tensorflow_and_jax_agree_to_rounding_on_rosenbrock():
    func = REGISTRY["rosenbrock"]
    x = np.array([-1.2, 1.0, 0.5, 2.0])
    np.testing.assert_allclose(gradients.jax_gradient(func, x), func.gradient(x), rtol=1e-12)
    np.testing.assert_allclose(gradients.tf_gradient(func, x), func.gradient(x), rtol=1e-12)


def test_central_difference_reaches_float64_accuracy():
    func = REGISTRY["sin_cos_mix"]
    x = np.array([0.3, 2.0, -1.0, 10.0])
    np.testing.assert_allclose(gradients.central_difference(func, x), func.gradient(x), rtol=1e-8, atol=1e-9)


def test_disagreement_is_flagged():
    """A wrong 'analytic' derivative must fail the check (the test can fail)."""
    func = REGISTRY["shifted_square"]
    broken = type(func)("broken", func.fn, lambda x: 1.01 * func.gradient(x))
    rows = gradients.gradient_rows("broken", broken, np.array([3.0]), 1e-6, 1e-6, 1.0)
    assert rows[0]["passed"] is False
    assert rows[0]["max_rel_diff"] == pytest.approx(0.01 / 1.01, rel=1e-6)


def test_user_function_without_analytic_gradient_uses_jax_as_reference():
    rows = gradients.gradient_rows("user", resolve("user_functions:cubic_bowl"), np.array([1.0, -2.0]), 1e-6, 1e-6, 1.0)
    assert {r["reference"] for r in rows} == {"jax"}
    assert all(r["passed"] for r in rows)
    # x^3 + 2x
    assert [r["jax"] for r in rows] == pytest.approx([3.0, -12.0])
