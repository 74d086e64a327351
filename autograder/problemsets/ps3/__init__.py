"""Problem set 3: backprop and MLPs.

Every layer is a pair ``X_forward(...) -> (out, cache)`` / ``X_backward(dout, cache)``. A forward is
graded on ``out`` (the shared ``forward`` driver drops the cache); a backward runs after the
student's own forward with a random upstream gradient (the ``backward`` driver) and its
gradients are compared with autograd through the PyTorch reference, each by name (dx, dW, db).
Batch norm, whose running statistics carry over between calls, is graded over a sequence of
train calls followed by eval calls against ``torch.nn.BatchNorm1d`` (the ``sequence`` driver).
Dropout and the initializers are random: they are judged by the distribution of a large sample.
The training loop is graded exactly (a few epochs from given weights against the same network
trained by ``torch.optim.SGD``) and by held-out accuracy computed here.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from autograder.problemsets._shared import (grads_of, held_out_problem, layer_pair, leaf, mlp_forward_torch, mlp_params,
                                            quarters, train_mlp_cases, train_torch_sgd)
from autograder.registry import Case, GradedFunction, Misconception, ProblemSet

LAYER_RTOL, LAYER_ATOL = 1e-5, 1e-7  # loose enough for float32 arithmetic; every planted bug is off by far more


# ------------------------------------------------------------------ affine
def affine_cases(rng, backward=False):
    shapes = [("random, N=4, D=5, M=3", 4, 5, 3), ("a batch of one, N=1, D=6, M=2", 1, 6, 2),
              ("one input feature, D=1 (N=7, M=4)", 7, 1, 4), ("one output, M=1 (N=3, D=8)", 3, 8, 1),
              ("non-square and wide, N=2, D=3, M=9", 2, 3, 9)]
    cases = []
    for label, n, d, m in shapes:
        x, W, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
        args = (x, W, b, rng.normal(size=(n, m))) if backward else (x, W, b)
        cases.append(Case(label, args))
    x, W, b = rng.normal(size=(5, 4)) * 100, rng.normal(size=(4, 3)), rng.normal(size=3) * 100
    cases.append(Case("large inputs and bias (about 100)", (x, W, b, rng.normal(size=(5, 3))) if backward else (x, W, b)))
    return cases


def affine_forward_reference(x, W, b):
    return F.linear(x, W.T, b)


def affine_backward_reference(x, W, b, dout):
    x, W, b = leaf(x), leaf(W), leaf(b)
    return grads_of(F.linear(x, W.T, b), (x, W, b), dout)


def affine_db_not_summed(x, W, b, dout):
    """Known mistake: db left as dout, one row per example."""
    dx, dW, _ = affine_backward_reference(x, W, b, dout)
    return dx, dW, dout


# ------------------------------------------------------------------ activations
def activation_cases(rng, backward=False, kinks=True):
    cases = []
    for label, x in [("random, 4 x 6", rng.normal(size=(4, 6)) * 2),
                     ("a batch of one, 1 x 5", rng.normal(size=(1, 5))),
                     ("large inputs, up to ±800 (no overflow, no NaN)",
                      np.array([[800.0, -800.0, 40.0, -40.0], [710.0, -710.0, 1e-3, -1e-3]]))]:
        cases.append((label, x))
    if kinks:
        x = quarters(rng, (3, 8))
        x[0, :3] = 0.0
        cases.append(("exactly 0 in places (ReLU's kink), on a grid of quarters", x))
    out = []
    for label, x in cases:
        out.append(Case(label, (x, rng.normal(size=x.shape)) if backward else (x,)))
    return out


def relu_reference(x):
    return torch.relu(x)


def relu_backward_reference(x, dout):
    x = leaf(x)
    return grads_of(torch.relu(x), (x,), dout)[0]


def sigmoid_reference(x):
    return torch.sigmoid(x)


def sigmoid_backward_reference(x, dout):
    x = leaf(x)
    return grads_of(torch.sigmoid(x), (x,), dout)[0]


def tanh_reference(x):
    return torch.tanh(x)


def tanh_backward_reference(x, dout):
    x = leaf(x)
    return grads_of(torch.tanh(x), (x,), dout)[0]


def relu_slope_one_at_zero(x, dout):
    """Known mistake: the derivative 1 at x = 0."""
    return dout * (x >= 0)


# ------------------------------------------------------------------ losses
def softmax_loss_cases(rng):
    cases = []
    for n, c in ((6, 4), (3, 10)):
        cases.append(Case(f"random scores, N={n}, C={c}", (rng.normal(size=(n, c)) * 2, rng.integers(0, c, size=n))))
    cases.append(Case("a batch of one", (rng.normal(size=(1, 5)), np.array([int(rng.integers(0, 5))]))))
    cases.append(Case("large logits, around ±1000",
                      (np.array([[1000.0, -1000.0, 999.0], [-1000.0, -998.0, -1000.5]]), np.array([2, 0]))))
    cases.append(Case("ties: equal scores in a row", (np.array([[1.0, 1.0, 1.0], [2.0, 2.0, -1.0]]), np.array([0, 1]))))
    cases.append(Case("the true class 800 behind (its probability underflows to 0)",
                      (np.array([[0.0, 800.0, -5.0], [3.0, 1.0, 2.0]]), np.array([2, 0]))))
    return cases


def softmax_loss_reference(scores, y):
    scores = leaf(scores)
    loss = F.cross_entropy(scores, y)  # the mean over the batch
    return loss.detach(), torch.autograd.grad(loss, scores)[0]


def softmax_loss_summed(scores, y):
    """Known mistake: the loss summed over the batch instead of averaged."""
    scores = leaf(scores)
    loss = F.cross_entropy(scores, y, reduction="sum")
    return loss.detach(), torch.autograd.grad(loss, scores)[0]


def mse_cases(rng):
    return [
        Case("predictions and targets of shape (5, 3)", (rng.normal(size=(5, 3)), rng.normal(size=(5, 3)))),
        Case("one output per example, shape (8,)", (rng.normal(size=8), rng.normal(size=8))),
        Case("a batch of one, shape (1, 4)", (rng.normal(size=(1, 4)), rng.normal(size=(1, 4)))),
        Case("non-square (2, 7), some residuals exactly 0",
             (np.array([[0.5, 1.0, -2.0, 0.0, 3.0, 1.0, 1.0], [0.0, 0.0, 1.0, -1.0, 2.0, 2.0, 0.25]]),
              np.array([[0.5, 0.0, -2.0, 1.0, 3.0, -1.0, 1.5], [0.0, 1.0, 1.0, -1.0, 0.0, 2.0, 0.25]]))),
    ]


def mse_reference(pred, target):
    pred = leaf(pred)
    loss = F.mse_loss(pred, target)
    return loss.detach(), torch.autograd.grad(loss, pred)[0]


def mse_halved(pred, target):
    """Known mistake: the factor 1/2 of week 2's squared loss."""
    loss, grad = mse_reference(pred, target)
    return loss / 2, grad / 2


def mse_per_example(pred, target):
    """Known mistake: summed over the outputs, averaged over the batch only."""
    pred = leaf(pred)
    loss = ((pred - target) ** 2).sum() / pred.shape[0]
    return loss.detach(), torch.autograd.grad(loss, pred)[0]


# ------------------------------------------------------------------ dropout
DROPOUT_Z = 6.0  # the drop rate must lie within 6 standard deviations of p (a false alarm once in 10^9)


def dropout_input(rng, shape):
    """Inputs that are never 0, so a zero in the output can only be a dropped unit."""
    return rng.uniform(0.5, 2.0, size=shape) * np.where(rng.random(shape) < 0.5, -1.0, 1.0)


def dropout_cases(rng, backward=False):
    p_mid = float(np.round(rng.uniform(0.2, 0.7), 2))
    specs = [("train mode, p between 0.2 and 0.7, 400 x 250 inputs", (400, 250), p_mid, "train"),
             ("train mode, p=0.9 (most units dropped), 300 x 200", (300, 200), 0.9, "train"),
             ("train mode, p=0.05, 200 x 300", (200, 300), 0.05, "train"),
             ("train mode, p=0 (nothing dropped)", (20, 10), 0.0, "train"),
             ("eval mode, p=0.5: the identity", (30, 40), 0.5, "eval"),
             ("train mode, a batch of one, 1 x 20000, p=0.5", (1, 20000), 0.5, "train")]
    cases = []
    for label, shape, p, mode in specs:
        x = dropout_input(rng, shape)
        seed = int(rng.integers(0, 2 ** 31))
        args = (x, p, mode, seed, rng.normal(size=shape)) if backward else (x, p, mode, seed)
        cases.append(Case(label, args))
    return cases


def _dropout_out_problem(x, p, mode, out, what="out"):
    """The problems with a dropout forward's ``out`` for inputs ``x`` (None when it is right)."""
    if not isinstance(out, np.ndarray) or out.dtype.kind not in "biuf":
        return f"{what}: expected an array of real numbers"
    if out.shape != x.shape:
        return f"{what}: expected shape {x.shape}, got shape {out.shape}"
    if mode == "eval" or p == 0:
        wrong = out != x
        if wrong.any():
            i = np.unravel_index(np.argmax(wrong), x.shape)
            return (f"{what}: in {mode} mode with p={p:g} every unit must pass unchanged; {int(wrong.sum())} of {x.size} "
                    f"differ (first at index {tuple(int(k) for k in i)}: expected {x[i]:.6g}, got {out[i]:.6g})")
        return None
    dropped = out == 0
    ratio = np.divide(out, x, out=np.zeros_like(x), where=~dropped)
    scale = 1.0 / (1.0 - p)
    bad = ~dropped & ~np.isclose(ratio, scale, rtol=1e-12, atol=0.0)
    n = x.size
    rate = float(dropped.mean())
    spread = DROPOUT_Z * math.sqrt(p * (1 - p) / n) + 1.0 / n
    if bad.any():
        i = np.unravel_index(np.argmax(bad), x.shape)
        known = {p: "kept units scaled by p; inverted dropout scales them by 1/(1 - p)",
                 1.0: "kept units not scaled; inverted dropout scales them by 1/(1 - p)",
                 1.0 / max(p, 1e-12): "p taken as the probability of keeping a unit; it is the probability of dropping"}
        hint = next((f"Your answers match a known mistake: {line}. " for value, line in known.items()
                     if np.isclose(ratio[~dropped], value, rtol=1e-9).all()), "")
        return (f"{what}: {hint}a kept unit must be x / (1 - p) = {scale:.6g} x; {int(bad.sum())} kept unit(s) are not "
                f"(first at index {tuple(int(k) for k in i)}: out / x = {ratio[i]:.6g})")
    if abs(rate - p) > spread:
        return (f"{what}: {rate:.4f} of the units were dropped, but p={p:g} is the probability of dropping a unit "
                f"(with {n} units the rate must be within {spread:.4f} of p)")
    if x.ndim == 2 and x.shape[0] > 1 and x.shape[1] > 1:
        rows, cols = dropped[1:] == dropped[:1], dropped[:, 1:] == dropped[:, :1]
        if rows.all() or cols.all():
            return f"{what}: every {'row' if rows.all() else 'column'} drops the same units; each unit needs its own draw"
    return None


def dropout_forward_check(case, got, expected=None):
    """The fraction of units dropped, and the kept units scaled as inverted dropout scales them."""
    x, p, mode, _ = case.args
    return _dropout_out_problem(x, p, mode, got)


def dropout_backward_check(case, got, expected=None):
    """The gradient through the units your forward kept, scaled by 1/(1 - p)."""
    x, p, mode, _, dout = case.args
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "expected the forward's out and the backward's dx"
    out, dx = got
    # as every backward pass: graded with your own forward's choices (here, which units it dropped: out == 0), and
    # on its own output only; wrong values in the forward's out cost dropout_forward's points, not these
    if not isinstance(out, np.ndarray) or out.dtype.kind not in "biuf" or out.shape != x.shape:
        return (f"your dropout_forward's out must be an array of shape {x.shape} to tell which units it dropped; "
                f"got {getattr(out, 'shape', type(out).__name__)} (dropout_backward is graded with your dropout_forward)")
    if not isinstance(dx, np.ndarray) or dx.dtype.kind not in "biuf" or dx.shape != x.shape:
        return f"return value 'dx': expected an array of shape {x.shape}, got {getattr(dx, 'shape', type(dx).__name__)}"
    if mode == "eval" or p == 0:
        want = dout
    else:
        want = np.where(out == 0, 0.0, dout / (1.0 - p))
    wrong = ~np.isclose(dx, want, rtol=1e-12, atol=0.0)
    if wrong.any():
        i = np.unravel_index(np.argmax(wrong), x.shape)
        kept = "a kept" if out[i] != 0 else "a dropped"
        return (f"return value 'dx': {int(wrong.sum())} of {x.size} values wrong; first at index "
                f"{tuple(int(k) for k in i)} ({kept} unit): expected {want[i]:.6g}, got {dx[i]:.6g}")
    return None


# ------------------------------------------------------------------ batch normalization
def batchnorm_cases(rng):
    specs = [  # (label, T_train, T_eval, N, D, eps, momentum, offset)
        ("5 train calls then 2 eval calls, N=6, D=4", 5, 2, 6, 4, 1e-5, 0.1, 0.0),
        ("a batch of two (N=2: the unbiased variance doubles the biased one), D=3", 4, 2, 2, 3, 1e-5, 0.1, 0.0),
        ("momentum 0.3 and eps 1e-3, N=5, D=1", 3, 2, 5, 1, 1e-3, 0.3, 0.0),
        ("features around 1000 with a small spread, N=8, D=5", 3, 1, 8, 5, 1e-5, 0.1, 1000.0),
        ("non-square N=3, D=7, started from given running statistics", 2, 2, 3, 7, 1e-5, 0.5, 0.0),
    ]
    cases = []
    for label, t_train, t_eval, n, d, eps, momentum, offset in specs:
        scale = rng.uniform(0.5, 3.0, size=d)
        xs = offset + rng.normal(size=(t_train + t_eval, n, d)) * scale + rng.normal(size=d)
        douts = rng.normal(size=(t_train, n, d))
        gamma, beta = rng.normal(size=d), rng.normal(size=d)
        if "given running" in label:
            running_mean, running_var = rng.normal(size=d), rng.uniform(0.5, 2.0, size=d)
        else:
            running_mean, running_var = np.zeros(d), np.ones(d)
        state = {"eps": eps, "momentum": momentum, "running_mean": running_mean, "running_var": running_var}
        cases.append(Case(label, (xs, douts, [gamma, beta], state)))
    return cases


def batchnorm_torch(xs, douts, params, state, backward):
    """The same sequence of calls through torch.nn.BatchNorm1d: train for every dout, then eval."""
    gamma, beta = params
    d = xs.shape[2]
    bn = torch.nn.BatchNorm1d(d, eps=state["eps"], momentum=state["momentum"], dtype=torch.float64, device=xs.device)
    with torch.no_grad():
        bn.weight.copy_(gamma)
        bn.bias.copy_(beta)
        bn.running_mean.copy_(state["running_mean"])
        bn.running_var.copy_(state["running_var"])
    outs, means, variances, grads = [], [], [], []
    for t in range(xs.shape[0]):
        train = t < douts.shape[0]
        if backward and not train:
            break
        bn.train(train)
        x = leaf(xs[t])
        out = bn(x)
        if backward:
            grads.append(grads_of(out, (x, bn.weight, bn.bias), douts[t]))
        outs.append(out.detach())
        means.append(bn.running_mean.clone())
        variances.append(bn.running_var.clone())
    if backward:
        return tuple(torch.stack([g[i] for g in grads]) for i in range(3))
    return torch.stack(outs), torch.stack(means), torch.stack(variances)


def batchnorm_forward_reference(xs, douts, params, state):
    return batchnorm_torch(xs, douts, params, state, backward=False)


def batchnorm_backward_reference(xs, douts, params, state):
    return batchnorm_torch(xs, douts, params, state, backward=True)


def batchnorm_by_hand(xs, douts, params, state, running_var_biased=False, momentum_swapped=False,
                      normalize_unbiased=False):
    """Batch norm written out in torch ops, with one of the known wrong conventions switched on."""
    gamma, beta = params
    mean_run, var_run = state["running_mean"].clone(), state["running_var"].clone()
    m, eps = state["momentum"], state["eps"]
    keep = m if momentum_swapped else 1 - m
    outs, means, variances = [], [], []
    for t in range(xs.shape[0]):
        x = xs[t]
        if t < douts.shape[0]:
            n = x.shape[0]
            mu = x.mean(dim=0)
            biased = ((x - mu) ** 2).mean(dim=0)
            unbiased = biased * n / (n - 1)
            var = unbiased if normalize_unbiased else biased
            out = gamma * (x - mu) / torch.sqrt(var + eps) + beta
            mean_run = keep * mean_run + (1 - keep) * mu
            var_run = keep * var_run + (1 - keep) * (biased if running_var_biased else unbiased)
        else:
            out = gamma * (x - mean_run) / torch.sqrt(var_run + eps) + beta
        outs.append(out)
        means.append(mean_run.clone())
        variances.append(var_run.clone())
    return torch.stack(outs), torch.stack(means), torch.stack(variances)


BN_BIASED_RUNNING = ("the running variance updated with the biased batch variance; it takes the unbiased one "
                     "(times n/(n-1))")
BN_MOMENTUM = "momentum used the other way round: the running statistic keeps (1 - momentum) of its old value"
BN_UNBIASED_NORM = "normalized with the unbiased batch variance; normalizing uses the biased one"


# ------------------------------------------------------------------ initialization
def torch_layout(shape):
    """The torch weight with the same fans: this course's (D, M) affine weight is nn.Linear's (M, D)."""
    return tuple(shape[::-1]) if len(shape) == 2 else tuple(shape)


def init_cases(rng, he=False):
    a = int(rng.integers(150, 250))
    b = a + int(rng.integers(100, 250))  # fan_in and fan_out at least 40 % apart: a swap moves the std by > 15 %
    if rng.random() < 0.5:
        a, b = b, a
    if he:
        specs = [("normal, fan_in, an affine weight (fan_in and fan_out differ)", ((a, b), "normal", "fan_in")),
                 ("uniform, fan_in, an affine weight (transposed shape)", ((b, a), "uniform", "fan_in")),
                 ("normal, fan_out, an affine weight", ((a, b), "normal", "fan_out")),
                 ("uniform, fan_out, conv weight (64, 16, 5, 3)", ((64, 16, 5, 3), "uniform", "fan_out")),
                 ("normal, fan_in, conv weight (32, 48, 3, 3)", ((32, 48, 3, 3), "normal", "fan_in"))]
    else:
        gain = float(rng.choice([0.5, 0.6, 0.75, 1.4, 1.6, 2.0]))  # far enough from 1 that an ignored gain shows
        specs = [("normal, gain 1, an affine weight (fan_in and fan_out differ)", ((a, b), "normal", 1.0)),
                 ("uniform, gain 1, an affine weight (transposed shape)", ((b, a), "uniform", 1.0)),
                 ("normal, a gain far from 1, shape (1000, 120)", ((1000, 120), "normal", gain)),
                 ("uniform, gain 5/3 (tanh's), conv weight (64, 16, 5, 3)", ((64, 16, 5, 3), "uniform", 5 / 3)),
                 ("normal, gain 1, conv weight (32, 48, 3, 3)", ((32, 48, 3, 3), "normal", 1.0))]
    return [Case(label, (*args, int(rng.integers(0, 2 ** 31)))) for label, args in specs]


def init_scale(kind, shape, distribution, option):
    """(std, bound) of the distribution torch.nn.init draws from for this weight (bound None when normal)."""
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(torch_layout(shape)))
    if kind == "glorot":
        std = option * math.sqrt(2.0 / (fan_in + fan_out))
    else:
        std = torch.nn.init.calculate_gain("relu") / math.sqrt(fan_in if option == "fan_in" else fan_out)
    return std, (math.sqrt(3.0) * std if distribution == "uniform" else None)


# Every sample has at least 13824 values: the sample standard deviation is then within 0.6 % of the true one
# (one standard error), so 6 % is ten standard errors, and every planted bug moves it by 15 % or more; the
# excess kurtosis of a normal sample has a standard error of 0.04, and a uniform one's is -1.2.
STD_TOLERANCE = 0.06
KURTOSIS_TOLERANCE = 0.5


def init_check(kind):
    def check(case, got, expected=None):
        """The mean, the spread and the range of the random draw."""
        shape, distribution, option, _ = case.args
        shape = tuple(shape)
        if not isinstance(got, np.ndarray) or got.dtype.kind != "f":
            return "return value 'W': expected an array of floats"
        if got.shape != shape:
            return f"return value 'W': expected shape {shape}, got shape {got.shape}"
        if not np.isfinite(got).all():
            return "return value 'W': contains NaN or infinity"
        std, bound = init_scale(kind, shape, distribution, option)
        values = got.astype(np.float64).ravel()
        n = values.size
        mean, sample_std = float(values.mean()), float(values.std())
        if abs(mean) > 6 * std / math.sqrt(n):
            return f"return value 'W': the sample mean is {mean:.3g}; the distribution must be centred at 0"
        if abs(sample_std / std - 1) > STD_TOLERANCE:
            return (f"return value 'W': the sample standard deviation is {sample_std:.5g}, expected {std:.5g} "
                    f"(within {STD_TOLERANCE:.0%}) for this shape, {distribution} distribution and {option!r}")
        if bound is not None and (np.abs(values).max() > bound * (1 + 1e-12) or np.abs(values).max() < 0.99 * bound):
            return (f"return value 'W': a uniform draw here fills [-{bound:.5g}, {bound:.5g}]; "
                    f"the largest |W| is {np.abs(values).max():.5g}")
        kurtosis = float(np.mean((values - mean) ** 4) / sample_std ** 4) - 3
        target = -1.2 if distribution == "uniform" else 0.0
        if abs(kurtosis - target) > KURTOSIS_TOLERANCE:
            return (f"return value 'W': the sample does not look {distribution} (excess kurtosis {kurtosis:.2f}, "
                    f"expected about {target:g})")
        return None
    return check


# ------------------------------------------------------------------ an MLP of any depth
def mlp_loss_cases(rng):
    cases = []
    for hidden in ((7,), (6, 5), (5, 6, 4, 5)):
        n = int(rng.integers(4, 9))
        sizes = (4, *hidden, 3)
        cases.append(Case(f"{len(hidden)} hidden layer(s) of widths {hidden}, D=4, C=3, N between 4 and 8",
                          (mlp_params(rng, sizes), rng.normal(size=(n, 4)), rng.integers(0, 3, size=n))))
    cases.append(Case("a batch of one, 2 hidden layers",
                      (mlp_params(rng, (5, 4, 4, 6)), rng.normal(size=(1, 5)), np.array([int(rng.integers(0, 6))]))))
    # on a grid of quarters every sum is exact: some hidden pre-activations are exactly 0 (ReLU's kink)
    params, X = mlp_params(rng, (3, 6, 4), dyadic=True), quarters(rng, (5, 3), 1.0)
    pre = X @ params["W1"] + params["b1"]
    params["b1"][:3] -= pre[0, :3]
    cases.append(Case("hidden pre-activations exactly 0 in places (grid of quarters)", (params, X, rng.integers(0, 4, 5))))
    params = mlp_params(rng, (4, 8, 5))
    params["W2"] *= 300.0
    cases.append(Case("large output scores (hundreds)", (params, rng.normal(size=(6, 4)), rng.integers(0, 5, 6))))
    params = mlp_params(rng, (4, 6, 5, 3))
    params = {key: params[key] for key in ("b3", "W2", "W1", "b1", "W3", "b2")}
    cases.append(Case("params whose keys come in another order (b3, W2, W1, b1, W3, b2): layers go by name",
                      (params, rng.normal(size=(5, 4)), rng.integers(0, 3, 5))))
    # "any depth": from ten layers on, the keys' own sort order (W1, W10, W11, W2, ...) is not the layers' order
    hidden = tuple(int(w) for w in rng.integers(4, 8, size=10))
    cases.append(Case("11 layers (10 hidden, widths 4 to 7): W10 and W11 come after W9, not after W1",
                      (mlp_params(rng, (4, *hidden, 3)), rng.normal(size=(6, 4)), rng.integers(0, 3, 6))))
    return cases


def mlp_loss_reference(params, X, y):
    params = {k: leaf(v) for k, v in params.items()}
    loss = F.cross_entropy(mlp_forward_torch(params, X), y)
    keys = sorted(params)
    grads = torch.autograd.grad(loss, [params[k] for k in keys])
    return loss.detach(), dict(zip(keys, grads))


# ------------------------------------------------------------------ gradient checking
def numerical_gradient_cases(rng):
    n = 5
    A = rng.normal(size=(n, n))
    cases = [Case("quadratic 1/2 x.A x + c.x, x of shape (5,), h=1e-5",
                  ("quadratic", [A + A.T, rng.normal(size=n)], rng.normal(size=n), 1e-5, "C"))]
    V, U = rng.normal(size=(4, 3)), rng.normal(size=(3, 3))
    cases.append(Case("sum(tanh(X V) * U), X of shape (3, 4), h=1e-4",
                      ("tanh_layer", [V, U], rng.normal(size=(3, 4)), 1e-4, "C")))
    cases.append(Case("the same with a large step, h=0.1 (h must be used as given)",
                      ("tanh_layer", [V, U], rng.normal(size=(3, 4)), 0.1, "C")))
    cases.append(Case("the same, X laid out column by column in memory (x.reshape(-1) is then a copy, not a view)",
                      ("tanh_layer", [V, U], rng.normal(size=(3, 4)), 1e-4, "F")))
    cases.append(Case("the same, with an f that ignores its argument and reads x itself (as lambda _: net.loss())",
                      ("tanh_closure", [V, U], rng.normal(size=(3, 4)), 1e-4, "C")))
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)
    cases.append(Case("mean softmax cross-entropy of X W, W of shape (4, 3), h=1e-5",
                      ("softmax_loss", [X, y], rng.normal(size=(4, 3)), 1e-5, "C")))
    cases.append(Case("quadratic, x of shape (1,), h=1e-3",
                      ("quadratic", [np.array([[3.0]]), np.array([1.0])], np.array([0.7]), 1e-3, "C")))
    return cases


def torch_function(kind, data):
    if kind == "quadratic":
        A, c = data
        return lambda x: 0.5 * x @ A @ x + c @ x
    if kind in ("tanh_layer", "tanh_closure"):  # the closure reads the very x it is differentiated at
        V, U = data
        return lambda X: torch.sum(torch.tanh(X @ V) * U)
    if kind == "softmax_loss":
        X, y = data
        return lambda W: F.cross_entropy(X @ W, y)
    raise ValueError(kind)


def finite_differences(kind, data, x, h, central: bool):
    """The gradient of ``kind``'s function at ``x`` by finite differences in torch, one coordinate at a time:
    (f(x + h e_i) - f(x - h e_i)) / 2h when ``central``, else the one-sided (f(x + h e_i) - f(x)) / h."""
    f = torch_function(kind, data)
    grad = torch.zeros_like(x)
    flat, g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.numel()):
        e = torch.zeros_like(flat)
        e[i] = h
        if central:
            g[i] = (f((flat + e).reshape(x.shape)) - f((flat - e).reshape(x.shape))) / (2 * h)
        else:
            g[i] = (f((flat + e).reshape(x.shape)) - f(x)) / h
    return grad


def numerical_gradient_reference(kind, data, x, h, order="C"):
    """Central differences of the same function, evaluated in torch; and x itself (it must come back unchanged).
    ``order`` is how the sandbox lays x out in memory; it changes nothing here."""
    return finite_differences(kind, data, x, h, central=True), x


def forward_differences(kind, data, x, h, order="C"):
    """Known mistake: one-sided differences (f(x + h e_i) - f(x)) / h."""
    return finite_differences(kind, data, x, h, central=False), x


def relative_error_cases(rng):
    a = rng.normal(size=(4, 5))
    return [
        Case("random arrays, 4 x 5", (a, a + rng.normal(size=(4, 5)) * 1e-3)),
        Case("equal arrays", (a, a.copy())),
        Case("all zeros in both (the floor 1e-8 keeps it finite)", (np.zeros(6), np.zeros(6))),
        Case("tiny values, where the floor 1e-8 decides", (np.array([1e-10, 0.0, 2e-9]), np.array([0.0, 0.0, 1e-9]))),
        Case("one large relative error among small ones", (np.array([1.0, 2.0, 1e-3]), np.array([1.0, 2.0 + 1e-9, 2e-3]))),
        Case("opposite signs", (np.array([[1.0, -2.0]]), np.array([[-1.0, -2.0]]))),
    ]


def relative_error_reference(a, b):
    return (torch.abs(a - b) / torch.clamp(torch.abs(a) + torch.abs(b), min=1e-8)).max()


# ------------------------------------------------------------------ training
ACCURACY_NEEDED = 0.97


def train_mlp_reference(*args):
    return train_torch_sgd(mlp_forward_torch, *args)


def train_mlp_summed(*args):
    """Known mistake: each step on the minibatch's summed loss instead of its mean."""
    return train_torch_sgd(mlp_forward_torch, *args, reduction="sum")


def mlp_predict(params, X):
    layers = len(params) // 2
    h = X
    for layer in range(1, layers + 1):
        h = h @ params[f"W{layer}"] + params[f"b{layer}"]
        if layer < layers:
            h = np.maximum(h, 0.0)
    return np.argmax(h, axis=1)


def train_mlp_check(case, got, expected=None):
    """Held-out accuracy of the returned weights: 97 % (see held_out_problem)."""
    return held_out_problem(case, got, expected, mlp_predict, ACCURACY_NEEDED)



# ------------------------------------------------------------------ XOR
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])


def xor_params(rng, sizes, scale=1.0):
    """Weights N(0, scale^2 / fan_in) and biases N(0, 0.1^2) of a tanh MLP with sizes (D, d1, ..., 1)."""
    params = {}
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"] = rng.normal(size=(n_in, n_out)) * scale / math.sqrt(n_in)
        params[f"b{layer}"] = rng.normal(size=n_out) * 0.1
    return params


def train_xor_cases(rng):
    """Full-batch gradient descent from given weights, step for step against torch.optim.SGD on
    F.binary_cross_entropy_with_logits: XOR with and without a hidden layer, a noisy XOR through two hidden
    layers, no steps at all, saturated units, and a confident wrong logit (where a log of 1 - p gives inf)."""
    corners = rng.integers(0, 2, size=(40, 2)).astype(float)
    noisy_X = corners + rng.normal(size=(40, 2)) * 0.15
    noisy_y = np.logical_xor(corners[:, 0], corners[:, 1]).astype(float)
    big = xor_params(rng, (2, 3, 1))
    big["W1"], big["W2"], big["b2"] = big["W1"] * 30.0, np.full((3, 1), 15.0) * np.sign(rng.normal(size=(3, 1))), \
        np.array([float(rng.choice([-1.0, 1.0])) * 5.0])
    confident = {"W1": 40.0 + rng.normal(size=(2, 1)), "b1": -40.0 + rng.normal(size=1)}
    return [
        Case("XOR, 2 tanh hidden units, 100 steps, step 0.5", (XOR_X, XOR_Y, xor_params(rng, (2, 2, 1)), 100, 0.5)),
        Case("XOR, 8 tanh hidden units, 300 steps, step 1", (XOR_X, XOR_Y, xor_params(rng, (2, 8, 1)), 300, 1.0)),
        Case("XOR without a hidden layer (logistic regression: W1 (2, 1), b1 (1,)), 50 steps, step 0.5",
             (XOR_X, XOR_Y, xor_params(rng, (2, 1)), 50, 0.5)),
        Case("noisy XOR, 40 points, two hidden layers (5, 4), 60 steps, step 0.3",
             (noisy_X, noisy_y, xor_params(rng, (2, 5, 4, 1)), 60, 0.3)),
        Case("0 steps: the given params back (a copy) and no losses", (XOR_X, XOR_Y, xor_params(rng, (2, 3, 1)), 0, 0.5)),
        Case("saturated: tanh units at ±1 and logits of about ±40 (the loss must stay finite), 20 steps, step 0.01",
             (XOR_X, XOR_Y, big, 20, 0.01)),
        Case("a confident wrong logit: no hidden layer, s about +40 at (1, 1) whose label is 0 (1 - p is 0 in float64: "
             "compute the loss from s), 20 steps, step 0.01", (XOR_X, XOR_Y, confident, 20, 0.01)),
    ]


def xor_logits_torch(params, X):
    """The logits of a tanh MLP with one output unit."""
    return mlp_forward_torch(params, X, activation=torch.tanh)[:, 0]


def train_xor_reference(X, y, params, steps, learning_rate, reduction="mean"):
    params = {k: leaf(v) for k, v in params.items()}
    optimizer = torch.optim.SGD(list(params.values()), lr=learning_rate)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(xor_logits_torch(params, X), y, reduction=reduction)
        losses.append(loss.detach())
        loss.backward()
        optimizer.step()
    losses = torch.stack(losses) if losses else torch.zeros(0, dtype=X.dtype, device=X.device)
    return {k: v.detach() for k, v in params.items()}, losses


PROBLEM_SET = ProblemSet(
    name="ps3",
    title="Problem set 3: backprop and MLPs",
    functions=(
        *layer_pair("affine", "x, W, b", points=(1, 2), cases=affine_cases,
                    references=(affine_forward_reference, affine_backward_reference), grads=("dx", "dW", "db"),
                    rtol=LAYER_RTOL, atol=LAYER_ATOL,
                    backward=dict(misconceptions=(Misconception("db_not_summed", affine_db_not_summed,
                                                                "db not summed over the batch: b is shared by every "
                                                                "example, so its gradient is the sum of theirs"),))),
        *layer_pair("relu", "x", points=(1, 1), cases=activation_cases,
                    references=(relu_reference, relu_backward_reference), grads=("dx",), rtol=LAYER_RTOL,
                    atol=LAYER_ATOL,
                    backward=dict(misconceptions=(Misconception("slope_one_at_zero", relu_slope_one_at_zero,
                                                                "the derivative at x = 0 taken as 1; it is 0 "
                                                                "there"),))),
        *layer_pair("sigmoid", "x", points=(1, 1), cases=activation_cases,
                    references=(sigmoid_reference, sigmoid_backward_reference), grads=("dx",),
                    rtol=LAYER_RTOL, atol=LAYER_ATOL),
        *layer_pair("tanh", "x", points=(1, 1), cases=activation_cases,
                    references=(tanh_reference, tanh_backward_reference), grads=("dx",), rtol=LAYER_RTOL,
                    atol=LAYER_ATOL),
        GradedFunction(name="softmax_loss", signature="softmax_loss(scores, y)", returns=("loss", "dscores"), points=2,
                       make_cases=softmax_loss_cases, reference=softmax_loss_reference, rtol=LAYER_RTOL,
                       atol=LAYER_ATOL,
                       misconceptions=(Misconception("summed", softmax_loss_summed,
                                                     "the loss summed over the batch instead of averaged"),)),
        GradedFunction(name="mse_loss", signature="mse_loss(pred, target)", returns=("loss", "dpred"), points=1,
                       make_cases=mse_cases, reference=mse_reference, rtol=LAYER_RTOL, atol=LAYER_ATOL,
                       misconceptions=(Misconception("halved", mse_halved,
                                                     "the factor 1/2 of the squared loss; the mean squared error has none"),
                                       Misconception("per_example", mse_per_example,
                                                     "averaged over the examples only; the mean runs over every entry"))),
        *layer_pair("dropout", "x, p, mode, seed", points=(2, 1), cases=dropout_cases, grads=("out", "dx"),
                    drivers=("dropout_forward", "dropout_backward"),  # judged by their checks: no reference
                    forward=dict(check=dropout_forward_check), backward=dict(check=dropout_backward_check)),
        *layer_pair("batchnorm", "x, gamma, beta, bn_param", points=(3, 3), cases=batchnorm_cases,
                    references=(batchnorm_forward_reference, batchnorm_backward_reference),
                    outputs=("out", "running_mean", "running_var"), grads=("dx", "dgamma", "dbeta"),
                    drivers=("sequence", "sequence"), sequence="call", rtol=LAYER_RTOL, atol=LAYER_ATOL,
                    forward=dict(misconceptions=(
                        Misconception("running_var_biased",
                                      lambda *a: batchnorm_by_hand(*a, running_var_biased=True), BN_BIASED_RUNNING),
                        Misconception("momentum_swapped",
                                      lambda *a: batchnorm_by_hand(*a, momentum_swapped=True), BN_MOMENTUM),
                        Misconception("normalize_unbiased",
                                      lambda *a: batchnorm_by_hand(*a, normalize_unbiased=True), BN_UNBIASED_NORM))),
                    backward=dict(make_cases=batchnorm_cases)),  # the same sequences: each case holds its douts
        GradedFunction(name="glorot_init", signature="glorot_init(shape, distribution, gain, seed)", returns=("W",),
                       points=1, make_cases=init_cases, reference=None, check=init_check("glorot"), driver="same_seed"),
        GradedFunction(name="he_init", signature="he_init(shape, distribution, mode, seed)", returns=("W",), points=1,
                       make_cases=lambda rng: init_cases(rng, he=True), reference=None, check=init_check("he"),
                       driver="same_seed"),
        GradedFunction(name="mlp_loss", signature="mlp_loss(params, X, y)", returns=("loss", "grads"), points=3,
                       make_cases=mlp_loss_cases, reference=mlp_loss_reference, rtol=LAYER_RTOL, atol=LAYER_ATOL,
                       uses=("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss")),
        GradedFunction(name="numerical_gradient", signature="numerical_gradient(f, x, h)", returns=("grad", "x_after"),
                       points=2, make_cases=numerical_gradient_cases, reference=numerical_gradient_reference, rtol=1e-6,
                       atol=1e-8, driver="numerical_gradient",
                       misconceptions=(Misconception("forward_differences", forward_differences,
                                                     "one-sided differences (f(x + h) - f(x)) / h; central ones are "
                                                     "asked for"),)),
        GradedFunction(name="relative_error", signature="relative_error(a, b)", returns=("error",), points=1,
                       make_cases=relative_error_cases, reference=relative_error_reference, rtol=1e-9, atol=1e-15),
        GradedFunction(name="train_mlp",
                       signature="train_mlp(X, y, params, epochs, batch_size, learning_rate, momentum, seed)",
                       returns=("params",), points=4, make_cases=train_mlp_cases, reference=train_mlp_reference,
                       rtol=1e-9, atol=1e-11, check=train_mlp_check, driver="keeps_inputs", time_limit_s=60.0,
                       cpu_s=120, memory_mb=1024, uses=("mlp_loss",),
                       misconceptions=(Misconception("summed", train_mlp_summed,
                                                     "each step on the minibatch's summed loss; the step takes the "
                                                     "gradient of its mean"),)),
        GradedFunction(name="train_xor", signature="train_xor(X, y, params, steps, learning_rate)",
                       returns=("params", "losses"), points=2, make_cases=train_xor_cases,
                       reference=train_xor_reference, rtol=1e-9, atol=1e-11, driver="keeps_inputs"),
    ),
)
