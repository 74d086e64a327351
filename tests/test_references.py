"""The PyTorch references agree with independent, hand-derived facts."""
import numpy as np
import pytest

from autograder.grading.references import run_reference
from autograder.problemsets import ps1
from autograder.registry import Case, get_problem_set

PS1 = get_problem_set("ps1")


def ref(name, *args):
    return run_reference(PS1[name], Case("t", args))


def test_mistake_bound_on_constructed_data():
    # w = (3, 4) has norm 5; rescaled w* = (0.6, 0.8), b* = 0.2 (b = 1).
    X = np.array([[2.0, 0.0], [0.0, -1.0]])
    y = np.array([1.0, -1.0])
    w, b = np.array([3.0, 4.0]), 1.0
    margins = y * (X @ (w / 5) + b / 5)          # 1.4 and 0.6
    rho, r = margins.min(), 2.0
    expected = (0.2 ** 2 + 1) * (r ** 2 + 1) / rho ** 2
    assert ref("mistake_bound", X, y, w, b) == pytest.approx(expected, rel=1e-12)
    assert ref("geometric_margin", X, y, w, b) == pytest.approx(0.6, rel=1e-12)


def test_training_never_exceeds_the_bound_on_random_separable_data():
    rng = np.random.default_rng(7)
    for trial in range(40):
        d = int(rng.integers(2, 8))
        X, y, w_star, b_star = ps1.separable_data(rng, 30, d, margin=float(rng.uniform(0.2, 0.8)), with_separator=True)
        w, b, mistakes, converged = ref("train_perceptron", X, y, 500)
        assert converged
        assert mistakes <= ref("mistake_bound", X, y, w_star, b_star)
        assert np.all(y * (X @ w + b) > 0), "a converged perceptron separates the data"


def test_xor_does_not_converge():
    X, y = ps1.xor_data()
    _, _, mistakes, converged = ref("train_perceptron", X, y, 25)
    assert not converged and mistakes >= 25


def test_hinge_step_matches_the_hand_derived_subgradient():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [2.0, 2.0]])
    y = np.array([1.0, -1.0, 1.0, 1.0])
    w, b, lr = np.array([1.0, -1.0]), 0.0, 0.5
    # margins: 1, 1, 0, 0 -> only the last two are on the sloped part
    grad_w = -(X[2] * y[2] + X[3] * y[3]) / 4
    grad_b = -(y[2] + y[3]) / 4
    got_w, got_b = ref("hinge_sgd_step", w, b, X, y, lr)
    np.testing.assert_allclose(got_w, w - lr * grad_w, rtol=0, atol=1e-15)
    assert float(got_b) == pytest.approx(b - lr * grad_b)


def test_predict_counts_zero_as_positive():
    X = np.array([[1.0, 1.0], [1.0, 2.0]])
    np.testing.assert_array_equal(ref("predict", X, np.array([1.0, -1.0]), 0.0), [1.0, -1.0])


def test_quarter_grid_makes_float32_exact():
    rng = np.random.default_rng(0)
    X = ps1.on_grid(rng.normal(size=(50, 4)) * 3)
    assert np.array_equal(X.astype(np.float32).astype(np.float64), X)
