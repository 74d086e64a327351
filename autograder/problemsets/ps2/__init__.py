"""Problem set 2: losses, SGD and optimizers.

Losses return the per-example loss and its gradient with respect to the prediction; the
references get that gradient from autograd. Optimizer steps use the stateless
``update(w, dw, config) -> (next_w, config)`` signature; the grader runs 100 steps on
random parameters and gradients and compares the whole trajectory with ``torch.optim``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from autograder.problemsets._shared import digits_split, quarters
from autograder.registry import Case, GradedFunction, Misconception, ProblemSet

OPTIMIZER_STEPS = 100


def signs(rng, n):
    return np.where(rng.random(n) < 0.5, -1.0, 1.0)


def with_grad(f, loss_fn):
    """(per-example loss, d loss_i / d f) by autograd."""
    f = f.clone().requires_grad_(True)
    loss = loss_fn(f)
    (grad,) = torch.autograd.grad(loss.sum(), f)
    return loss.detach(), grad


# ------------------------------------------------------------------ regression losses
def regression_cases(rng, with_eps=False):
    extra = (0.5,) if with_eps else ()
    cases = []
    for n in (9, 25):
        f, y = rng.normal(size=n) * 3, rng.normal(size=n) * 3
        cases.append(Case(f"random predictions and targets, n={n}", (f, y, *extra)))
    f = quarters(rng, 12)
    y = f + np.array([0.0, 0.5, -0.5, 1.0, -1.0, 0.25, -0.25, 2.0, -3.0, 0.0, 1.5, -0.75])
    cases.append(Case("residuals exactly 0, ±0.5 and ±1 (the kinks)", (f, y, *extra)))
    cases.append(Case("a single example", (np.array([0.3]), np.array([-1.2]), *extra)))
    cases.append(Case("large residuals", (rng.normal(size=6) * 1e4, rng.normal(size=6) * 1e4, *extra)))
    if with_eps:
        # eps decides: a tube of another width, with residuals exactly on its edges and a quarter either side
        eps = float(rng.choice([0.25, 0.75, 1.0, 1.5]))
        f = quarters(rng, 9)
        y = f + np.array([0.0, eps, -eps, eps - 0.25, -eps + 0.25, eps + 0.25, -eps - 0.25, 2 * eps, -3.0])
        cases.append(Case("another eps (1/4 to 3/2): residuals exactly ±eps and a quarter either side", (f, y, eps)))
        f = quarters(rng, 5)
        y = f + np.array([0.0, 0.25, -0.25, 1.0, -2.0])
        cases.append(Case("eps = 0: the absolute loss (subgradient 0 at r = 0)", (f, y, 0.0)))
    return cases


def absolute_reference(f, y):
    return with_grad(f, lambda f: torch.abs(y - f))


def squared_reference(f, y):
    return with_grad(f, lambda f: 0.5 * (y - f) ** 2)


def eps_insensitive_reference(f, y, eps):
    return with_grad(f, lambda f: torch.relu(torch.abs(y - f) - eps))


def huber_reference(f, y):
    return with_grad(f, lambda f: F.huber_loss(f, y, reduction="none", delta=1.0))


# ------------------------------------------------------------------ binary classification losses
def binary_cases(rng):
    cases = []
    for n in (10, 31):
        cases.append(Case(f"random scores and labels, n={n}", (rng.normal(size=n) * 2, signs(rng, n))))
    f = np.array([1.0, -1.0, 0.5, 0.0, 2.0, -0.25])
    y = np.array([1.0, -1.0, 1.0, 1.0, -1.0, 1.0])
    cases.append(Case("margins exactly 1 and 0 (the kinks)", (f, y)))
    cases.append(Case("large scores, ±1000 (no overflow allowed)",
                      (np.array([1000.0, -1000.0, 800.0, -750.0]), np.array([1.0, 1.0, -1.0, -1.0]))))
    cases.append(Case("a single example", (np.array([0.7]), np.array([-1.0]))))
    return cases


def logistic_reference(f, y):
    return with_grad(f, lambda f: torch.logaddexp(torch.zeros_like(f), -y * f))


def hinge_reference(f, y):
    return with_grad(f, lambda f: torch.relu(1 - y * f))


def hinge_kink_sloped(f, y):
    """Known mistake: the subgradient -y (not 0) where the margin y f is exactly 1."""
    return torch.relu(1 - y * f), torch.where(y * f <= 1, -y, torch.zeros_like(y))


# ------------------------------------------------------------------ multiclass losses
def multiclass_cases(rng, with_delta=False):
    cases = []
    for n, k in ((8, 3), (5, 10)):
        scores = rng.normal(size=(n, k)) * 2
        labels = rng.integers(0, k, size=n)
        cases.append((f"random scores, n={n}, k={k}", scores, labels))
    scores = np.array([[1000.0, -1000.0, 999.0], [-1000.0, -998.0, -1000.5]])
    cases.append(("large logits, around ±1000", scores, np.array([2, 0])))
    cases.append(("a single example", rng.normal(size=(1, 4)), np.array([3])))
    scores = np.array([[5.0, 0.0, 1.0], [0.0, 0.2, 9.0]])
    cases.append(("correct classes well ahead", scores, np.array([0, 2])))
    result = []
    for label, scores, labels in cases:
        k = scores.shape[1]
        if with_delta:
            delta = np.round(rng.uniform(0.5, 2.0, size=(k, k)), 2)  # not symmetric on purpose
            np.fill_diagonal(delta, 0.0)
            result.append(Case(label, (scores, labels, delta)))
        else:
            result.append(Case(label, (scores, labels)))
    return result


def softmax_ce_reference(scores, labels):
    return with_grad(scores, lambda s: F.cross_entropy(s, labels, reduction="none"))


def multiclass_hinge_reference(scores, labels, delta):
    def loss(s):
        augmented = s + delta[labels]
        return augmented.max(dim=1).values - s.gather(1, labels[:, None])[:, 0]
    return with_grad(scores, loss)


def logits_cases(rng):
    return [
        Case("random logits, 6 x 4", (rng.normal(size=(6, 4)) * 3,)),
        Case("logits around +1000", (1000 + rng.normal(size=(3, 5)),)),
        Case("logits around -1000", (-1000 + rng.normal(size=(3, 5)),)),
        Case("mixed ±1000 in one row", (np.array([[1000.0, -1000.0, 0.0], [-1000.0, -999.0, -1001.0]]),)),
        Case("one class", (rng.normal(size=(4, 1)),)),
        Case("a single row", (rng.normal(size=(1, 7)),)),
    ]


def logsumexp_reference(scores):
    return torch.logsumexp(scores, dim=1)


def softmax_reference(scores):
    return torch.softmax(scores, dim=1)


def softmax_over_columns(scores):
    """Known mistake: normalized over axis 0 (every column sums to 1)."""
    return torch.softmax(scores, dim=0)


def softmax_over_columns_row_shift(scores):
    """The same mistake with the shift still taken per row (the shifts then no longer cancel)."""
    e = torch.exp(scores - scores.max(dim=1, keepdim=True).values)
    return e / e.sum(dim=0, keepdim=True)


# ------------------------------------------------------------------ least squares
def least_squares_cases(rng):
    cases = []
    for n, d in ((20, 3), (50, 8), (6, 6)):
        X = rng.normal(size=(n, d))
        y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
        cases.append(Case(f"X of shape {(n, d)}", (X, y)))
    X = rng.normal(size=(30, 2)) * np.array([1000.0, 0.001])
    cases.append(Case("badly scaled columns", (X, rng.normal(size=30))))
    cases.append(Case("one feature", (rng.normal(size=(10, 1)), rng.normal(size=10))))
    return cases


def least_squares_reference(X, y):
    return torch.linalg.lstsq(X, y[:, None]).solution[:, 0]


# ------------------------------------------------------------------ optimizers
def optimizer_cases(rng, make_config):
    cases = []
    shapes = [(5,), (3, 4), (1,), (2, 3)]
    for i, shape in enumerate(shapes):
        w0 = rng.normal(size=shape)
        grads = rng.normal(size=(OPTIMIZER_STEPS, *shape)) * rng.choice([0.1, 1.0, 10.0])
        config = make_config(rng, i)
        described = ", ".join(f"{k}={v:g}" for k, v in config.items())
        cases.append(Case(f"w of shape {shape}, {described}", (w0, grads, config)))
    return cases


def sgd_config(rng, i):
    return {"learning_rate": [0.1, 0.01, 0.5, 0.05][i], "weight_decay": [0.0, 0.1, 0.0, 0.01][i]}


def momentum_config(rng, i):
    return {"learning_rate": [0.05, 0.01, 0.2, 0.1][i], "momentum": [0.9, 0.5, 0.99, 0.8][i],
            "weight_decay": [0.0, 0.05, 0.0, 0.01][i]}


def adagrad_config(rng, i):
    return {"learning_rate": [0.1, 0.5, 0.05, 1.0][i], "eps": [1e-10, 0.1, 1e-3, 1e-10][i],
            "weight_decay": [0.0, 0.0, 0.1, 0.01][i]}


def rmsprop_config(rng, i):
    return {"learning_rate": [0.01, 0.05, 0.001, 0.02][i], "alpha": [0.99, 0.9, 0.5, 0.95][i],
            "eps": [1e-8, 0.1, 1e-2, 1e-8][i], "weight_decay": [0.0, 0.0, 0.1, 0.01][i]}


def adam_config(rng, i):
    return {"learning_rate": [0.001, 0.01, 0.1, 0.05][i], "beta1": [0.9, 0.5, 0.8, 0.9][i],
            "beta2": [0.999, 0.9, 0.99, 0.95][i], "eps": [1e-8, 0.1, 1e-3, 1e-8][i],
            "weight_decay": [0.0, 0.0, 0.1, 0.01][i]}


def run_torch_optimizer(w0, grads, make):
    w = w0.clone().requires_grad_(True)
    optimizer = make([w])
    trajectory = []
    for g in grads:
        w.grad = g.clone()
        optimizer.step()
        trajectory.append(w.detach().clone())
    return torch.stack(trajectory)


def sgd_reference(w0, grads, c):
    return run_torch_optimizer(w0, grads, lambda p: torch.optim.SGD(
        p, lr=c["learning_rate"], weight_decay=c["weight_decay"]))


def momentum_reference(w0, grads, c):
    return run_torch_optimizer(w0, grads, lambda p: torch.optim.SGD(
        p, lr=c["learning_rate"], momentum=c["momentum"], weight_decay=c["weight_decay"]))


def nesterov_reference(w0, grads, c):
    return run_torch_optimizer(w0, grads, lambda p: torch.optim.SGD(
        p, lr=c["learning_rate"], momentum=c["momentum"], weight_decay=c["weight_decay"], nesterov=True))


def adagrad_reference(w0, grads, c):
    return run_torch_optimizer(w0, grads, lambda p: torch.optim.Adagrad(
        p, lr=c["learning_rate"], eps=c["eps"], weight_decay=c["weight_decay"]))


def rmsprop_reference(w0, grads, c):
    return run_torch_optimizer(w0, grads, lambda p: torch.optim.RMSprop(
        p, lr=c["learning_rate"], alpha=c["alpha"], eps=c["eps"], weight_decay=c["weight_decay"]))


def adam_reference(w0, grads, c):
    return run_torch_optimizer(w0, grads, lambda p: torch.optim.Adam(
        p, lr=c["learning_rate"], betas=(c["beta1"], c["beta2"]), eps=c["eps"], weight_decay=c["weight_decay"]))


# known wrong conventions of the optimizers: torch variants of the references above
def run_steps(w0, grads, step):
    """The trajectory of ``w <- step(w, g, t, state)`` (t counts from 1; ``state`` is a dict kept between steps)."""
    w, state, trajectory = w0.clone(), {}, []
    for t, g in enumerate(grads, start=1):
        w = step(w, g, t, state)
        trajectory.append(w.clone())
    return torch.stack(trajectory)


def sgd_decoupled_decay(w0, grads, c):
    """Known mistake: decoupled weight decay (SGDW), w <- (1 - weight_decay) w - lr dw."""
    return run_steps(w0, grads, lambda w, g, t, state: w * (1 - c["weight_decay"]) - c["learning_rate"] * g)


def adagrad_eps_inside_sqrt(w0, grads, c):
    """Known mistake: w <- w - lr g / sqrt(G + eps)."""
    def step(w, dw, t, state):
        g = dw + c["weight_decay"] * w
        state["sum"] = state.get("sum", torch.zeros_like(w)) + g ** 2
        return w - c["learning_rate"] * g / torch.sqrt(state["sum"] + c["eps"])
    return run_steps(w0, grads, step)


def rmsprop_eps_inside_sqrt(w0, grads, c):
    """Known mistake: w <- w - lr g / sqrt(s + eps)."""
    def step(w, dw, t, state):
        g = dw + c["weight_decay"] * w
        a = c["alpha"]
        state["s"] = a * state.get("s", torch.zeros_like(w)) + (1 - a) * g ** 2
        return w - c["learning_rate"] * g / torch.sqrt(state["s"] + c["eps"])
    return run_steps(w0, grads, step)


def adam_variant(w0, grads, c, bias_correction=True, eps_inside=False):
    def step(w, dw, t, state):
        g = dw + c["weight_decay"] * w
        state["m"] = c["beta1"] * state.get("m", torch.zeros_like(w)) + (1 - c["beta1"]) * g
        state["v"] = c["beta2"] * state.get("v", torch.zeros_like(w)) + (1 - c["beta2"]) * g ** 2
        m_hat, v_hat = state["m"], state["v"]
        if bias_correction:
            m_hat, v_hat = m_hat / (1 - c["beta1"] ** t), v_hat / (1 - c["beta2"] ** t)
        denominator = torch.sqrt(v_hat + c["eps"]) if eps_inside else torch.sqrt(v_hat) + c["eps"]
        return w - c["learning_rate"] * m_hat / denominator
    return run_steps(w0, grads, step)


def adam_no_bias_correction(w0, grads, c):
    """Known mistake: m and v used without dividing by 1 - beta^t."""
    return adam_variant(w0, grads, c, bias_correction=False)


def adam_eps_inside_sqrt(w0, grads, c):
    """Known mistake: w <- w - lr m_hat / sqrt(v_hat + eps)."""
    return adam_variant(w0, grads, c, eps_inside=True)


def adam_decoupled_decay(w0, grads, c):
    """Known mistake: decoupled weight decay, as torch.optim.AdamW."""
    return run_torch_optimizer(w0, grads, lambda p: torch.optim.AdamW(
        p, lr=c["learning_rate"], betas=(c["beta1"], c["beta2"]), eps=c["eps"], weight_decay=c["weight_decay"]))


# the explanations name the convention only (like every feedback message, they never mention torch)
EPS_INSIDE_SQRT = "eps added inside the square root instead of after it"
DECOUPLED_DECAY = "decoupled weight decay ({}) instead of the decay term added to the gradient"
HINGE_KINK = "the hinge's kink (margin exactly 1) counted as sloped; the subgradient there is 0"
SOFTMAX_AXIS = "normalized over the wrong axis: every column sums to 1 instead of every row"


def optimizer(name, points, make_config, reference, misconceptions=()):
    return GradedFunction(name=name, signature=f"{name}(w, dw, config)", returns=("trajectory",), points=points,
                          make_cases=lambda rng: optimizer_cases(rng, make_config), reference=reference, rtol=1e-10,
                          atol=1e-10, driver="optimizer", sequence="step", misconceptions=misconceptions, memory_mb=512,
                          cpu_s=30)  # 100 steps on small arrays: far less than a training loop


# ------------------------------------------------------------------ schedules
def schedule_cases(rng):
    T = int(rng.integers(20, 60))
    return [
        Case("constant", ("constant", T, {"eta0": float(rng.uniform(0.01, 1))})),
        Case("inverse_sqrt", ("inverse_sqrt", T, {"eta0": float(rng.uniform(0.01, 1))})),
        Case("polynomial", ("polynomial", T, {"alpha": float(rng.uniform(0.5, 2)), "beta": float(rng.uniform(1, 10)),
                                              "gamma": float(rng.choice([0.5, 0.75, 1.0]))})),
        Case("exponential", ("exponential", T, {"alpha": float(rng.uniform(0.1, 1)),
                                                "beta": float(rng.uniform(0.01, 0.2))})),
        Case("a single step (T=1)", ("polynomial", 1, {"alpha": 1.0, "beta": 3.0, "gamma": 0.5})),
    ]


def schedule_reference(kind, T, h):
    t = torch.arange(1, T + 1, dtype=torch.float64)
    if kind == "constant":
        return torch.full_like(t, h["eta0"])
    if kind == "inverse_sqrt":
        return h["eta0"] / torch.sqrt(t)
    if kind == "polynomial":
        return h["alpha"] / (h["beta"] + t) ** h["gamma"]
    if kind == "exponential":
        return h["alpha"] * torch.exp(-h["beta"] * t)
    raise ValueError(kind)


# ------------------------------------------------------------------ softmax regression on digits
ACCURACY_NEEDED = 0.90


def softmax_regression_cases(rng):
    """Exact cases first: a few epochs on a small sample of digits, compared step for step with the same
    model trained by torch autograd (same start, same batch order). Then outcome cases: held-out accuracy
    after training on 70 % of the digits, computed here (the held-out images stay in ``private``)."""
    X_train, y_train, X_test, y_test = digits_split(rng)
    exact = [  # (what, n, epochs, batch_size, learning_rate)
        ("minibatches of 16, the last one smaller (12), 2 epochs", 60, 2, 16, 0.5),
        ("a last minibatch of one example that matters (33 = 32 + 1), 3 epochs", 33, 3, 32, 1.0),
        ("plain SGD (minibatches of one), 1 epoch", 25, 1, 1, 0.1),
        ("one full batch, 4 epochs", 40, 4, 40, 2.0),
    ]
    cases = []
    for what, n, epochs, batch, lr in exact:
        rows = rng.choice(len(y_train), size=n, replace=False)
        cases.append(Case(f"exact: {n} digits, {what}, step {lr:g}",
                          (X_train[rows], y_train[rows], 10, epochs, batch, lr, int(rng.integers(0, 2 ** 31)))))
    outcome = [  # (what, epochs, batch_size, learning_rate)
        ("20 epochs, minibatches of 32, step 0.5", 20, 32, 0.5),
        ("minibatches of one example (plain SGD), 2 epochs, step 0.05", 2, 1, 0.05),
        ("a batch size that does not divide n (100), 30 epochs, step 1.0", 30, 100, 1.0),
        ("minibatches of 7, 5 epochs, step 0.2", 5, 7, 0.2),
    ]
    cases += [Case(f"held-out accuracy: 1257 training / 540 held-out digits, {what}",
                   (X_train, y_train, 10, epochs, batch, lr, int(rng.integers(0, 2 ** 31))), private=(X_test, y_test))
              for what, epochs, batch, lr in outcome]
    return cases


def softmax_regression_reference(X, y, num_classes, epochs, batch_size, learning_rate, seed):
    """The same model trained by torch autograd: W = 0, b = 0; one generator made once from the seed; each
    epoch visits rng.permutation(n) in minibatches of batch_size (the last may be smaller); a step on the
    mean softmax cross-entropy of each minibatch."""
    n, d = X.shape
    rng = np.random.default_rng(seed)
    W = torch.zeros((d, num_classes), dtype=torch.float64, device=X.device, requires_grad=True)
    b = torch.zeros(num_classes, dtype=torch.float64, device=X.device, requires_grad=True)
    for _ in range(epochs):
        order = torch.as_tensor(rng.permutation(n), device=X.device)
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            loss = F.cross_entropy(X[batch] @ W + b, y[batch])  # the mean over the minibatch
            grad_W, grad_b = torch.autograd.grad(loss, (W, b))
            with torch.no_grad():
                W -= learning_rate * grad_W
                b -= learning_rate * grad_b
    return W.detach(), b.detach()


def softmax_regression_check(case, got, expected=None):
    X_test, y_test = case.private
    d, k = X_test.shape[1], 10
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "expected a tuple (W, b)"
    W, b = (np.asarray(v) if not isinstance(v, np.ndarray) else v for v in got)
    if W.shape != (d, k) or b.shape != (k,):
        return f"expected W of shape {(d, k)} and b of shape {(k,)}, got {W.shape} and {b.shape}"
    if W.dtype.kind not in "iuf" or b.dtype.kind not in "iuf" or not (np.isfinite(W).all() and np.isfinite(b).all()):
        return "W and b must be finite real numbers"
    accuracy = float(np.mean(np.argmax(X_test @ W + b, axis=1) == y_test))
    if accuracy < ACCURACY_NEEDED:
        return f"held-out accuracy {accuracy:.1%}, below the {ACCURACY_NEEDED:.0%} needed"
    return None


PROBLEM_SET = ProblemSet(
    name="ps2",
    title="Problem set 2: losses, SGD and optimizers",
    functions=(
        GradedFunction(name="absolute_loss", signature="absolute_loss(f, y)", returns=("loss", "grad"), points=1,
                       make_cases=regression_cases, reference=absolute_reference, rtol=1e-6, atol=1e-7),
        GradedFunction(name="squared_loss", signature="squared_loss(f, y)", returns=("loss", "grad"), points=1,
                       make_cases=regression_cases, reference=squared_reference, rtol=1e-6, atol=1e-7),
        GradedFunction(name="eps_insensitive_loss", signature="eps_insensitive_loss(f, y, eps)",
                       returns=("loss", "grad"), points=1, make_cases=lambda rng: regression_cases(rng, with_eps=True),
                       reference=eps_insensitive_reference, rtol=1e-6, atol=1e-7),
        GradedFunction(name="huber_loss", signature="huber_loss(f, y)", returns=("loss", "grad"), points=1,
                       make_cases=regression_cases, reference=huber_reference, rtol=1e-6, atol=1e-7),
        GradedFunction(name="logistic_loss", signature="logistic_loss(f, y)", returns=("loss", "grad"), points=1,
                       make_cases=binary_cases, reference=logistic_reference, rtol=1e-6, atol=1e-7),
        GradedFunction(name="hinge_loss", signature="hinge_loss(f, y)", returns=("loss", "grad"), points=1,
                       make_cases=binary_cases, reference=hinge_reference, rtol=1e-6, atol=1e-7,
                       misconceptions=(Misconception("kink_counted_as_sloped", hinge_kink_sloped, HINGE_KINK),)),
        GradedFunction(name="logsumexp", signature="logsumexp(scores)", returns=("lse",), points=1,
                       make_cases=logits_cases, reference=logsumexp_reference, rtol=1e-7, atol=1e-9),
        GradedFunction(name="softmax", signature="softmax(scores)", returns=("probs",), points=1,
                       make_cases=logits_cases, reference=softmax_reference, rtol=1e-7, atol=1e-12,
                       misconceptions=(Misconception("over_columns", softmax_over_columns, SOFTMAX_AXIS),
                                       Misconception("over_columns_row_shift", softmax_over_columns_row_shift,
                                                     SOFTMAX_AXIS))),
        GradedFunction(name="softmax_cross_entropy", signature="softmax_cross_entropy(scores, labels)",
                       returns=("loss", "grad"), points=2, make_cases=multiclass_cases, reference=softmax_ce_reference,
                       rtol=1e-6, atol=1e-7),
        GradedFunction(name="multiclass_hinge_loss", signature="multiclass_hinge_loss(scores, labels, delta)",
                       returns=("loss", "grad"), points=2,
                       make_cases=lambda rng: multiclass_cases(rng, with_delta=True),
                       reference=multiclass_hinge_reference, rtol=1e-6, atol=1e-7),
        GradedFunction(name="least_squares", signature="least_squares(X, y)", returns=("w",), points=1,
                       make_cases=least_squares_cases, reference=least_squares_reference, rtol=1e-6, atol=1e-8),
        optimizer("sgd", 1, sgd_config, sgd_reference, (
            Misconception("decoupled_weight_decay", sgd_decoupled_decay,
                          DECOUPLED_DECAY.format("SGDW: the weights shrunk by a factor each step")),)),
        optimizer("sgd_momentum", 2, momentum_config, momentum_reference),
        optimizer("nesterov_momentum", 2, momentum_config, nesterov_reference),
        optimizer("adagrad", 2, adagrad_config, adagrad_reference, (
            Misconception("eps_inside_sqrt", adagrad_eps_inside_sqrt, EPS_INSIDE_SQRT),)),
        optimizer("rmsprop", 2, rmsprop_config, rmsprop_reference, (
            Misconception("eps_inside_sqrt", rmsprop_eps_inside_sqrt, EPS_INSIDE_SQRT),)),
        optimizer("adam", 2, adam_config, adam_reference, (
            Misconception("no_bias_correction", adam_no_bias_correction,
                          "the moment estimates used without bias correction"),
            Misconception("eps_inside_sqrt", adam_eps_inside_sqrt, EPS_INSIDE_SQRT),
            Misconception("decoupled_weight_decay", adam_decoupled_decay, DECOUPLED_DECAY.format("AdamW")),)),
        GradedFunction(name="learning_rate_schedule", signature="learning_rate_schedule(kind, T, hyper)",
                       returns=("eta",), points=2, make_cases=schedule_cases, reference=schedule_reference, rtol=1e-10,
                       atol=1e-12),
        GradedFunction(name="train_softmax_regression",
                       signature="train_softmax_regression(X, y, num_classes, epochs, batch_size, learning_rate, seed)",
                       returns=("W", "b"), points=3, make_cases=softmax_regression_cases,
                       reference=softmax_regression_reference, check=softmax_regression_check, rtol=1e-9, atol=1e-11,
                       time_limit_s=60.0, cpu_s=120, memory_mb=1024),
    ),
)
