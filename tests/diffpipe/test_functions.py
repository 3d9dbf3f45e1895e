import numpy as np
import pytest

from diffpipe.functions import (
    REGISTRY,
    FunctionLookupError,
    ill_conditioned_weights,
    make_ill_conditioned_quadratic,
    resolve,
)


def test_registry_names_resolve_to_themselves():
    for name in REGISTRY:
        assert resolve(name).name == name


def test_user_function_by_import_path():
    func = resolve("user_functions:cubic_bowl")
    assert float(func.fn(np.array([1.0, 2.0]), np)) == pytest.approx(0.25 + 1 + 4 + 4)


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("no_such_function", "unknown function"),
        ("no_such_module_xyz:f", "cannot import"),
        ("user_functions:missing", "no callable"),
    ],
)
def test_bad_function_names_fail_clearly(name, fragment):
    with pytest.raises(FunctionLookupError, match=fragment):
        resolve(name)


@pytest.mark.parametrize("name", [n for n, f in REGISTRY.items() if f.gradient is not None])
def test_analytic_gradients_match_central_differences(name):
    func = REGISTRY[name]
    x = np.array([0.3, -1.1, 2.0, 0.7])
    h = 1e-6
    fd = np.array([(func.fn(x + h * e, np) - func.fn(x - h * e, np)) / (2 * h) for e in np.eye(4)])
    np.testing.assert_allclose(func.gradient(x), fd, rtol=1e-6, atol=1e-5)


def test_ill_conditioned_quadratic_has_the_requested_condition_number():
    weights = ill_conditioned_weights(10, 1e4)
    assert weights.max() / weights.min() == pytest.approx(1e4)
    func = make_ill_conditioned_quadratic(1e4)
    x = np.linspace(-1, 1, 10)
    assert float(func.fn(x, np)) == pytest.approx(0.5 * np.sum(weights * x**2))
