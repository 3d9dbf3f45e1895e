import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diffpipe.gradients import controlflow as cf


@pytest.fixture(scope="module")
def table():
    return cf.control_flow_table(-2.0, 5.0, 200)


def test_vectorised_equals_pointwise_grad_loop_and_analytic(table):
    np.testing.assert_allclose(table["df_jax_vmap"], table["df_jax_pointwise"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(table["df_jax_vmap"], table["df_analytic"], rtol=1e-12, atol=1e-12)


def test_tensorflow_batch_gradient_matches(table):
    np.testing.assert_allclose(table["df_tensorflow"], table["df_analytic"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(table["f_tensorflow"], table["f"], rtol=1e-13)


def test_values_follow_the_piecewise_definition(table):
    x = table["x"].to_numpy()
    expected = np.array([cf.f_python(v, np) for v in x])
    np.testing.assert_allclose(table["f"], expected, rtol=1e-13)
    assert np.isfinite(table["df_jax_vmap"]).all()  # no NaN leaks from the unused sqrt branch


def test_notebook_array_call_raises():
    """The notebook's f_dx(np.linspace(...)) cannot work: grad needs a scalar and `if` a bool."""
    with pytest.raises((TypeError, ValueError, jax.errors.ConcretizationTypeError)):
        jax.grad(lambda v: cf.f_python(v, jnp))(jnp.linspace(0.0, 1.0, 100))
