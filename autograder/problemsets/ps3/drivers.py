"""Problem set 3's sandbox drivers (NumPy only: this file is copied into each grading job).

A driver gets the student's namespace, the graded function's name and the case's arguments.
The layers use the shared ``forward``, ``backward`` and ``sequence`` drivers; these two cover
what cannot cross the process boundary (a function to differentiate) or what the check needs
to see besides the gradient (dropout's mask).
"""
import numpy as np


def dropout_backward(namespace, name, args):
    """``args = (x, p, mode, seed, dout)``: the student's dropout_forward, then dropout_backward with the
    cache; the graded output is (out, dx), so the check can see which units the forward kept."""
    x, p, mode, seed, dout = args
    result = namespace["dropout_forward"](x, p, mode, seed)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError("dropout_forward must return a tuple (out, cache)")
    out, cache = result
    return out, namespace[name](dout, cache)


def scalar_function(kind, data, x=None):
    """The function to differentiate, built here from the case's data (functions cannot be sent). ``x``: the array
    the student's numerical_gradient gets, which a closure reads instead of its argument."""
    if kind == "quadratic":        # f(x) = 1/2 x.A x + c.x, x of shape (n,)
        A, c = data
        return lambda x: float(0.5 * x @ A @ x + c @ x)
    if kind == "tanh_layer":       # f(X) = sum(tanh(X V) * U), X of shape (m, n)
        V, U = data
        return lambda X: float(np.sum(np.tanh(X @ V) * U))
    if kind == "tanh_closure":     # the same, ignoring its argument and reading x itself (lambda _: net.loss())
        V, U = data
        return lambda _: float(np.sum(np.tanh(x @ V) * U))
    if kind == "softmax_loss":     # f(W) = mean cross-entropy of the scores X W, W of shape (d, k)
        X, y = data
        def f(W):
            scores = X @ W
            top = scores.max(axis=1, keepdims=True)
            log_norm = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))
            return float(np.mean(log_norm - scores[np.arange(len(y)), y]))
        return f
    raise ValueError(f"unknown function kind {kind!r}")


def numerical_gradient(namespace, name, args):
    """``args = (kind, data, x, h, order)``: builds f from the data, lays x out in memory in ``order`` ("C", or
    "F": a transposed layout, in which ``x.reshape(-1)`` is a copy and not a view), calls
    ``numerical_gradient(f, x, h)``; the graded output is (grad, x as it is afterwards). x must come back exactly
    as it was: a difference in the last bit (x + h - h) is an error that says where."""
    kind, data, x, h, order = args
    x = np.array(x, order=order)
    f = scalar_function(kind, data, x)
    before = x.copy()
    grad = namespace[name](f, x, h)
    if x.shape == before.shape and not np.array_equal(x, before):
        i = np.unravel_index(np.argmax(x != before), x.shape)
        raise ValueError(f"x is not left as it was found: x{[int(k) for k in i]} was {float(before[i])!r} and is now "
                         f"{float(x[i])!r} (put "
                         "each entry back from a saved copy; adding and subtracting h leaves rounding errors)")
    return grad, np.array(x, copy=True)


def dropout_forward(namespace, name, args):
    """``args = (x, p, mode, seed)``: dropout_forward twice with the same seed; the same seed must give the same
    mask (the graded output is the first call's out)."""
    calls = [namespace[name](*args) for _ in range(2)]
    if not all(isinstance(result, tuple) and len(result) == 2 for result in calls):
        raise TypeError(f"{name} must return a tuple (out, cache)")
    (first, _), (again, _) = calls
    if isinstance(first, np.ndarray) and isinstance(again, np.ndarray) and first.shape == again.shape \
            and not np.array_equal(first, again):
        raise ValueError("two calls with the same seed dropped different units: draw the mask from "
                         "np.random.default_rng(seed)")
    return first


def same_seed(namespace, name, args):
    """``args`` end with a seed: the function twice with the same arguments. The same seed must give the same
    array (a draw that ignores its seed passes every statistic); the graded output is the first call's."""
    first = namespace[name](*args)
    again = namespace[name](*args)
    if isinstance(first, np.ndarray) and isinstance(again, np.ndarray) and first.shape == again.shape \
            and not np.array_equal(first, again):
        raise ValueError("two calls with the same seed gave different arrays: draw from np.random.default_rng(seed)")
    return first


# numerical_gradient's driver checks x itself, and says where it changed (autograder.sandbox.drivers.guard_inputs)
MAY_CHANGE = {"numerical_gradient": ("x",)}

DRIVERS = {"dropout_backward": dropout_backward, "dropout_forward": dropout_forward,
           "numerical_gradient": numerical_gradient, "same_seed": same_seed}
