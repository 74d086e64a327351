"""Rules the sandbox drivers and the property checks apply beyond comparing with a reference.

* ``keeps_inputs``: a training loop (or ``clip_grad_norm``) must leave the arrays it is given as they were; a
  shallow copy of ``params`` followed by ``-=`` returns the right weights and still changes the caller's.
* ``kmax_ties_check``: k-max pooling with ties at the k-th value accepts any of the tied positions
  (``torch.topk`` does not say which it keeps) and nothing else.
"""
from __future__ import annotations

import numpy as np
import pytest

from autograder.problemsets.ps4 import TIES, kmax_ties_check
from autograder.registry import Case
from autograder.sandbox import drivers
from autograder.sandbox.drivers import InputChanged, keeps_inputs
from autograder.student.visible import check


def step_copying(params, lr):
    params = {key: value.copy() for key, value in params.items()}
    for key in params:
        params[key] -= lr
    return params


def step_shallow(params, lr):
    params = dict(params)
    for key in params:
        params[key] -= lr
    return params


def clip_in_place(grads, max_norm):
    for g in grads:
        g *= 0.5
    return grads, 1.0


def test_a_function_that_copies_passes_and_its_value_comes_back():
    params = {"W1": np.ones((2, 2)), "b1": np.zeros(2)}
    value = keeps_inputs({"f": step_copying}, "f", [params, 0.5])
    assert np.array_equal(value["W1"], np.full((2, 2), 0.5))
    assert np.array_equal(params["W1"], np.ones((2, 2)))


def test_an_update_of_the_given_arrays_is_named():
    params = {"W1": np.ones((2, 2)), "b1": np.zeros(2)}
    with pytest.raises(InputChanged, match=r"f changed params\['W1'\], which it was given, in place"):
        keeps_inputs({"f": step_shallow}, "f", [params, 0.5])


def test_a_list_argument_is_checked_entry_by_entry():
    with pytest.raises(InputChanged, match=r"changed grads\[0\]"):
        keeps_inputs({"clip": clip_in_place}, "clip", [[np.ones(3), np.ones(2)], 1.0])


def test_nan_left_in_place_is_not_a_change():
    def returns_copy(x):
        return x * 2
    keeps_inputs({"g": returns_copy}, "g", [np.array([np.nan, 1.0])])


def test_the_visible_check_reports_it_in_the_notebook():
    def clip_grad_norm(grads, max_norm):
        total_norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
        factor = max_norm / (total_norm + 1e-6)
        if factor < 1.0:
            for g in grads:
                g *= factor
        return grads, total_norm
    with pytest.raises(AssertionError, match=r"InputChanged: clip_grad_norm changed grads\[0\]"):
        check("ps5", "clip_grad_norm", clip_grad_norm)


ROW = np.array([2.0, 5.0, 2.0, 1.0, 2.0])            # k = 2: the 5 and one of the three 2s


def tie_case(k=2):
    return Case("ties", (ROW[None, None], k), private=TIES)


@pytest.mark.parametrize("kept", [[2.0, 5.0], [5.0, 2.0]])
def test_any_tied_position_is_accepted(kept):
    assert kmax_ties_check(tie_case(), np.array([[kept]])) is None


@pytest.mark.parametrize("got, problem", [
    (np.array([[[5.0, 2.0, 2.0]]]), "shape (1, 1, 3), expected (1, 1, 2)"),       # every tied value kept
    (np.array([[[5.0, 1.0]]]), "not the 2 largest values"),
    (np.array([[[2.0, 2.0]]]), "not the 2 largest values"),
    ([["a", "b"]], "not an array of numbers"),
])
def test_anything_else_is_not(got, problem):
    assert problem in kmax_ties_check(tie_case(), got)


def test_the_order_of_the_sentence_is_required():
    case = Case("ties", (np.array([[[3.0, 1.0, 4.0, 1.0]]]), 3), private=TIES)
    assert kmax_ties_check(case, np.array([[[3.0, 1.0, 4.0]]])) is None
    assert kmax_ties_check(case, np.array([[[3.0, 4.0, 1.0]]])) is None
    assert "not in the order" in kmax_ties_check(case, np.array([[[4.0, 3.0, 1.0]]]))


def test_a_layer_must_leave_its_input_and_its_upstream_gradient_as_they_were():
    """The shared forward and backward drivers: a forward that changes x, or a backward that changes dout, in
    place fails with a message naming the argument; a backward that changes its own cache does not."""
    def relu_forward(x):
        return np.maximum(x, 0.0), x.copy()

    def relu_forward_in_place(x):
        np.maximum(x, 0.0, out=x)
        return x, x > 0

    def relu_backward(dout, cache):
        cache[cache <= 0] = 0.0  # the cache is the layer's own
        return dout * (cache > 0)

    def relu_backward_in_place(dout, cache):
        dout[cache <= 0] = 0.0
        return dout

    x, dout = np.array([[-1.0, 0.0, 2.0]]), np.array([[3.0, 4.0, 5.0]])
    namespace = {"relu_forward": relu_forward, "relu_backward": relu_backward}
    assert np.array_equal(drivers.backward(namespace, "relu_backward", [x, dout]), [[0.0, 0.0, 5.0]])
    assert np.array_equal(drivers.forward(namespace, "relu_forward", [x]), [[0.0, 0.0, 2.0]])
    with pytest.raises(InputChanged, match="relu_forward changed x, which it was given"):
        drivers.forward({"relu_forward": relu_forward_in_place}, "relu_forward", [x.copy()])
    with pytest.raises(InputChanged, match="relu_backward changed dout, which it was given"):
        drivers.backward({**namespace, "relu_backward": relu_backward_in_place}, "relu_backward", [x, dout.copy()])


def test_a_backward_must_read_its_own_cache_and_any_layout_of_x_is_fine():
    """A forward/backward pair that keeps its state in a global passes one forward then its backward, but not a
    second forward in between (two such layers in a network): the backward driver runs one. The input reaches the
    forward as a non-contiguous view with the same values."""
    state = {}

    def scale_forward(x, w):
        state["x"] = x  # the state in a global, not in the cache
        return x * w, None

    def scale_backward(dout, cache):
        return dout * 2.0, np.sum(dout * state["x"])

    def honest_forward(x, w):
        assert not x.flags.c_contiguous  # the driver's view, with the caller's values
        return x * w, (x.copy(), w)

    def honest_backward(dout, cache):
        x, w = cache
        return dout * w, np.sum(dout * x)

    x, w, dout = np.arange(6.0).reshape(2, 3), 2.0, np.ones((2, 3))
    leaky = drivers.backward({"scale_forward": scale_forward, "scale_backward": scale_backward},
                             "scale_backward", [x, w, dout])
    honest = drivers.backward({"scale_forward": honest_forward, "scale_backward": honest_backward},
                              "scale_backward", [x, w, dout])
    assert honest[1] == x.sum() and leaky[1] != x.sum()
    assert np.array_equal(drivers.forward({"scale_forward": honest_forward}, "scale_forward", [x, w]), 2 * x)


# ------------------------------------------------------------------ every graded call leaves its arguments alone
def dropout_forward(x, p, mode, seed):
    if mode != "train":
        return x.copy(), None
    mask = (np.random.default_rng(seed).random(x.shape) >= p) / (1 - p)
    return x * mask, mask


def dropout_backward_in_place(dout, cache):
    dout *= cache                       # the caller's upstream gradient, scaled in place
    return dout


def batchnorm_forward_in_place(x, gamma, beta, bn_param):
    x -= x.mean(axis=0)                 # the caller's x centred in place
    out = gamma * x / np.sqrt(x.var(axis=0) + 1e-5) + beta
    bn_param["running_mean"] = bn_param["running_mean"] * 0.9   # allowed: bn_param carries the running statistics
    return out, (x, gamma)


def sgd_with_state(w, dw, config):
    config.setdefault("learning_rate", 1e-2)        # allowed: the config carries the optimizer's state
    return w - config["learning_rate"] * dw, config


def test_every_driver_call_is_checked_whatever_the_driver():
    """ps3's own dropout_backward driver never compared dout; through guard_inputs it does, for every driver."""
    from autograder.problemsets.ps3 import drivers as ps3_drivers

    x, dout = np.ones((4, 5)), np.full((4, 5), 2.0)
    view = drivers.guard_inputs({"dropout_forward": dropout_forward, "dropout_backward": dropout_backward_in_place},
                                {"dropout_forward": "dropout_forward(x, p, mode, seed)",
                                 "dropout_backward": "dropout_backward(dout, cache)"})
    with pytest.raises(InputChanged, match="dropout_backward changed dout, which it was given, in place"):
        ps3_drivers.dropout_backward(view, "dropout_backward", [x, 0.5, "train", 3, dout])
    view = drivers.guard_inputs({"batchnorm_forward": batchnorm_forward_in_place},
                                {"batchnorm_forward": "batchnorm_forward(x, gamma, beta, bn_param)"})
    with pytest.raises(InputChanged, match="batchnorm_forward changed x, which it was given"):
        view["batchnorm_forward"](np.arange(6.0).reshape(3, 2), np.ones(2), np.zeros(2),
                                  {"running_mean": np.zeros(2), "mode": "train"})


def test_what_a_contract_lets_change_may_change():
    """An optimizer's config, batch norm's bn_param and a backward's cache are exempt; numerical_gradient's x is
    left to its own driver, which says where it changed."""
    view = drivers.guard_inputs({"sgd": sgd_with_state}, {"sgd": "sgd(w, dw, config)"})
    w, config = view["sgd"](np.ones(3), np.ones(3), {})
    assert config == {"learning_rate": 1e-2} and np.allclose(w, 0.99)

    def centred_bn(x, gamma, beta, bn_param):
        bn_param["running_mean"] = bn_param["running_mean"] + 1.0
        return x - x.mean(axis=0), None

    view = drivers.guard_inputs({"batchnorm_forward": centred_bn},
                                {"batchnorm_forward": "batchnorm_forward(x, gamma, beta, bn_param)"})
    view["batchnorm_forward"](np.ones((2, 2)), np.ones(2), np.zeros(2), {"running_mean": np.zeros(2)})
    from autograder.problemsets.ps3 import drivers as ps3_drivers

    def shifting(f, x, h):
        x += h                                   # and never put back
        return np.zeros_like(x)

    view = drivers.guard_inputs({"numerical_gradient": shifting}, {"numerical_gradient": "numerical_gradient(f, x, h)"},
                                ps3_drivers.MAY_CHANGE)
    with pytest.raises(ValueError, match=r"x is not left as it was found: x\[0\]"):
        ps3_drivers.numerical_gradient(view, "numerical_gradient", ["quadratic", (np.eye(2), np.ones(2)),
                                                                   np.ones(2), 1e-3, "C"])


def test_the_visible_check_applies_the_same_rule():
    """check() in the notebook: a softmax that shifts the caller's scores in place fails and names them."""
    def softmax(scores):
        scores -= scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    with pytest.raises(AssertionError, match="softmax changed scores, which it was given, in place"):
        check("ps2", "softmax", softmax, namespace={})


# ---------------------------------------------------------------- the registry names only drivers that exist
def test_every_entry_names_a_driver_that_exists():
    from autograder.registry import PROBLEM_SET_NAMES, driver_names, get_problem_set

    for name in PROBLEM_SET_NAMES:
        ps = get_problem_set(name)  # checks them
        assert {fn.driver for fn in ps.functions} - {"call"} <= (driver_names(ps.drivers_file)
                                                                  | set(drivers.DRIVERS)), name
    # read without importing: the names parsed from the files are the names the sandbox will find there
    from autograder.problemsets.ps3 import drivers as ps3_drivers
    from autograder.registry import SHARED_DRIVERS_FILE

    assert driver_names(SHARED_DRIVERS_FILE) == set(drivers.DRIVERS)
    assert driver_names(get_problem_set("ps3").drivers_file) == set(ps3_drivers.DRIVERS)


def test_a_misspelt_driver_is_refused_when_the_problem_set_loads(tmp_path):
    from dataclasses import replace

    from autograder.registry import ProblemSet, check_drivers, get_problem_set

    own = tmp_path / "drivers.py"
    own.write_text('def twice(namespace, name, args):\n    return namespace[name](*args) * 2\n\n\n'
                   'DRIVERS = {"twice": twice}\n')
    fn = get_problem_set("ps1")["predict"]
    check_drivers(ProblemSet("ps98", "drivers of its own", (replace(fn, driver="twice"), replace(fn, driver="forward")),
                             drivers_file=own))
    misspelt = ProblemSet("ps98", "a misspelt driver", (fn, replace(fn, name="dropout_step", driver="twise")),
                          drivers_file=own)
    with pytest.raises(ValueError, match="ps98: the entry 'dropout_step' names the driver 'twise'"):
        check_drivers(misspelt)
    with pytest.raises(ValueError, match="names the driver 'twice'"):
        check_drivers(replace(misspelt, functions=(replace(fn, driver="twice"),), drivers_file=None))
