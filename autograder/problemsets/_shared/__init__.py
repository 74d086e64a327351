"""What several weeks share: test inputs, autograd helpers, week 3's training loop, and the layer pair.

Week 3 sets the layer contract that weeks 4 and 5 keep (``X_forward(...) -> (out, cache)``,
``X_backward(dout, cache)``), and the training loop that weeks 4 and 6 grade again on other networks.
A problem set imports from here, never from another problem set: each stays one folder.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from autograder.registry import Case, GradedFunction


# ------------------------------------------------------------------ test inputs
def quarters(rng, size, scale=2.0):
    """Numbers on a grid of quarters: sums and products of a few of them are exact, so kinks (x = 0, a margin of
    exactly 1, |r| = eps) are hit exactly."""
    return np.round(rng.normal(size=size) * scale * 4) / 4


def digits_split(rng):
    """Scikit-learn's bundled digits, scaled to [0, 1], split 70/30 at random."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    order = rng.permutation(len(y))
    cut = int(0.7 * len(y))
    return X[order[:cut]], y[order[:cut]], X[order[cut:]], y[order[cut:]]


# ------------------------------------------------------------------ autograd
def leaf(t):
    """A copy of ``t`` that autograd differentiates with respect to."""
    return t.clone().requires_grad_(True)


def grads_of(outputs, inputs, dout):
    """The gradients of <outputs, dout> with respect to ``inputs`` (autograd)."""
    return torch.autograd.grad(outputs, inputs, dout)


# ------------------------------------------------------------------ a layer's forward and backward
def layer_pair(stem: str, inputs: str, *, points: tuple[int, int], cases, references=(None, None),
          outputs: tuple[str, ...] = ("out",), grads: tuple[str, ...], upstream: tuple[str, ...] = ("dout",),
          drivers: tuple[str, str] = ("forward", "backward"), forward: dict | None = None,
          backward: dict | None = None, **both) -> tuple[GradedFunction, GradedFunction]:
    """The two entries of a layer that keeps week 3's contract, forward first (the notebook's order).

    ``<stem>_forward(<inputs>)`` returns ``outputs`` (and a cache, which the ``drivers`` drop);
    ``<stem>_backward(<upstream>, cache)`` returns ``grads``, graded after the student's own forward.
    ``cases(rng, backward=False)`` makes both sides' cases: the backward's add the upstream gradients.
    ``points`` and ``references`` go (forward, backward); ``both`` holds fields the two entries share
    (tolerances, ``sequence``); ``forward`` and ``backward`` hold each one's own (misconceptions, a check, a
    time budget, other ``make_cases``). The backward uses its forward, and whatever ``backward["uses"]`` adds.
    """
    forward, backward = dict(forward or {}), dict(backward or {})
    forward_name, backward_name = f"{stem}_forward", f"{stem}_backward"
    backward["uses"] = (forward_name, *backward.get("uses", ()))
    forward.setdefault("make_cases", cases)
    backward.setdefault("make_cases", lambda rng: cases(rng, backward=True))
    return (
        GradedFunction(name=forward_name, signature=f"{forward_name}({inputs})", returns=outputs,
                       points=points[0], reference=references[0], driver=drivers[0], **both, **forward),
        GradedFunction(name=backward_name, signature=f"{backward_name}({', '.join(upstream)}, cache)",
                       returns=grads, points=points[1], reference=references[1], driver=drivers[1],
                       **both, **backward),
    )


# ------------------------------------------------------------------ week 3's MLP, trained again in weeks 4 and 6
def mlp_params(rng, sizes, dyadic=False):
    """Weights and biases ``W1, b1, ...`` of an MLP with layer sizes ``sizes`` (He-scaled, or on a grid of
    quarters with ``dyadic``, where every sum is exact)."""
    params = {}
    for layer, (d, m) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        if dyadic:
            params[f"W{layer}"], params[f"b{layer}"] = quarters(rng, (d, m), 0.5), quarters(rng, m, 0.5)
        else:
            params[f"W{layer}"] = rng.normal(size=(d, m)) * math.sqrt(2.0 / d)
            params[f"b{layer}"] = rng.normal(size=m) * 0.1
    return params


def mlp_forward_torch(params, X, activation=torch.relu):
    """The scores of an MLP whose layers go by name (W1, b1, W2, ...), in torch: ReLU between the layers, or
    ``activation``."""
    layers = len(params) // 2
    h = X
    for layer in range(1, layers + 1):
        h = h @ params[f"W{layer}"] + params[f"b{layer}"]
        if layer < layers:
            h = activation(h)
    return h


def train_mlp_cases(rng):
    """Exact cases: a few epochs on a small sample, step for step against the same network trained by
    torch.optim.SGD from the same weights in the same batch order. Outcome cases: held-out accuracy
    after training on 70 % of the digits, computed here (the held-out images stay in ``private``)."""
    X_train, y_train, X_test, y_test = digits_split(rng)
    exact = [  # (what, n, hidden, epochs, batch_size, learning_rate, momentum)
        ("minibatches of 16, the last one smaller (4), momentum 0.9, 2 epochs", 52, (16,), 2, 16, 0.1, 0.9),
        ("a last minibatch of one example that matters (33 = 32 + 1), 2 hidden layers, 3 epochs", 33, (12, 10), 3, 32, 0.2, 0.5),
        ("plain SGD (minibatches of one, momentum 0), 1 epoch", 20, (8,), 1, 1, 0.05, 0.0),
        ("one full batch, momentum 0.9, 5 epochs", 40, (10,), 5, 40, 0.5, 0.9),
    ]
    cases = []
    for what, n, hidden, epochs, batch, lr, mu in exact:
        rows = rng.choice(len(y_train), size=n, replace=False)
        params = mlp_params(rng, (64, *hidden, 10))
        cases.append(Case(f"exact: {n} digits, hidden {hidden}, {what}, step {lr:g}",
                          (X_train[rows], y_train[rows], params, epochs, batch, lr, mu, int(rng.integers(0, 2 ** 31)))))
    # ReLU's kink: a blank image with zero biases gives hidden pre-activations of exactly 0, where the slope is 0
    # (torch.relu); a step that passes the gradient there (clamp(min=0), x >= 0) moves the biases differently
    rows = rng.choice(len(y_train), size=24, replace=False)
    X_kink = X_train[rows].copy()
    X_kink[::6] = 0.0
    params = {key: np.zeros_like(value) if key.startswith("b") else value
              for key, value in mlp_params(rng, (64, 8, 10)).items()}
    cases.append(Case("exact: 24 digits of which 4 blank, zero biases (hidden pre-activations of exactly 0: ReLU's "
                      "slope there is 0), hidden (8,), minibatches of 8, momentum 0.9, 2 epochs, step 0.1",
                      (X_kink, y_train[rows], params, 2, 8, 0.1, 0.9, int(rng.integers(0, 2 ** 31)))))
    outcome = [("hidden (128,), 30 epochs, minibatches of 32, step 0.05, momentum 0.9", (128,), 30, 32, 0.05, 0.9)]
    for what, hidden, epochs, batch, lr, mu in outcome:
        params = mlp_params(rng, (64, *hidden, 10))
        for key in params:
            if key.startswith("b"):
                params[key] = np.zeros_like(params[key])
        cases.append(Case(f"held-out accuracy: 1257 training / 540 held-out digits, {what}",
                          (X_train, y_train, params, epochs, batch, lr, mu, int(rng.integers(0, 2 ** 31))),
                          private=(X_test, y_test)))
    return cases


def train_torch_sgd(scores, X, y, params, epochs, batch_size, learning_rate, momentum, seed, reduction="mean",
                    zero_grad=True):
    """A network (``scores(params, X)``) trained by torch.optim.SGD: one generator made once from the seed; each
    epoch visits rng.permutation(n) in minibatches of batch_size (the last may be smaller); a step on the
    minibatch's mean loss (its sum with ``reduction="sum"``, a known mistake; ``zero_grad=False``, another: the
    gradients add up from step to step)."""
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    params = {k: leaf(v) for k, v in params.items()}
    optimizer = torch.optim.SGD(list(params.values()), lr=learning_rate, momentum=momentum)
    for _ in range(epochs):
        order = torch.as_tensor(rng.permutation(n), device=X.device)
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            if zero_grad:
                optimizer.zero_grad()
            F.cross_entropy(scores(params, X[batch]), y[batch], reduction=reduction).backward()
            optimizer.step()
    return {k: v.detach() for k, v in params.items()}


# ------------------------------------------------------------------ judging a training function's outcome
def params_problem(got, start) -> str | None:
    """What is wrong with returned parameters: the start's keys, shapes, and finite real numbers."""
    if not isinstance(got, dict) or set(got) != set(start):
        return f"expected a dict with the keys {sorted(start)}"
    for key, value in start.items():
        w = got[key]
        if not isinstance(w, np.ndarray) or w.shape != value.shape or w.dtype.kind not in "iuf" or not np.isfinite(w).all():
            return f"params[{key!r}]: expected finite real numbers of shape {value.shape}"
    return None


def held_out_problem(case, got, expected, predict, needed):
    """The check of a training function's outcome case: the returned params must have the start's keys and
    shapes, and their held-out accuracy (computed here) must reach ``needed``; on a split where the same network
    trained by the reference falls short of that itself, within 1 point of the reference."""
    X_test, y_test = case.private
    problem = params_problem(got, case.args[2])
    if problem:
        return problem
    accuracy = float(np.mean(predict(got, X_test) == y_test))
    if expected is not None:
        needed = min(needed, float(np.mean(predict(expected, X_test) == y_test)) - 0.01)
    if accuracy < needed:
        return f"held-out accuracy {accuracy:.1%}, below the {needed:.1%} needed"
    return None
