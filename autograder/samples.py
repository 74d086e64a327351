"""Sample submissions built from the masters: the demo's class and the test suite's.

A *mutant* is the master's solution of one function with one planted bug, written as
(description, text in the master, replacement); it must lose that function's points
and only those. An *alternative* is a different but correct implementation (loops
instead of vectorized code, float32 arithmetic); it must keep full marks.
"""
from __future__ import annotations

import nbformat

from autograder.notebooks import fill, full_solution, solution_sources  # noqa: F401 (re-exported for tests)

MUTANTS = {
    "ps1": {
        "predict": [
            ("score 0 predicted as -1", "scores >= 0", "scores > 0"),
            ("np.sign gives 0 on the hyperplane", "np.where(scores >= 0, 1.0, -1.0)", "np.sign(scores)"),
            ("bias forgotten", "scores = X @ w + b", "scores = X @ w"),
        ],
        "perceptron_update": [
            ("a point on the hyperplane is not a mistake", "if y * (w @ x + b) <= 0:", "if y * (w @ x + b) < 0:"),
            ("label ignored in the update", "return w + y * x, b + y", "return w + x, b + 1"),
            ("bias not updated", "return w + y * x, b + y", "return w + y * x, b"),
        ],
        "train_perceptron": [
            ("strict inequality: never leaves w = 0", "if y[i] * (X[i] @ w + b) <= 0:", "if y[i] * (X[i] @ w + b) < 0:"),
            ("counts only the last epoch's mistakes", "mistakes += epoch_mistakes", "mistakes = epoch_mistakes"),
            ("claims convergence when max_epochs runs out", "return w, b, mistakes, False", "return w, b, mistakes, True"),
            ("bias never updated", "w, b = w + y[i] * X[i], b + y[i]", "w = w + y[i] * X[i]"),
        ],
        "geometric_margin": [
            ("functional margin (no division by ||w||)", " / np.linalg.norm(w)", ""),
            ("largest instead of smallest margin", "np.min(", "np.max("),
            ("unsigned distance", "np.min(y * (X @ w + b))", "np.min(np.abs(X @ w + b))"),
        ],
        "mistake_bound": [
            ("bias not rescaled with w", "w_star, b_star = w / norm, b / norm", "w_star, b_star = w / norm, b"),
            ("r^2 instead of r^2 + 1", "(r ** 2 + 1)", "r ** 2"),
            ("0 instead of infinity for a non-separator", "return np.inf", "return 0.0"),
            ("divides by rho instead of rho^2", "/ rho ** 2", "/ rho"),
        ],
        "hinge_sgd_step": [
            ("kink counted as sloped", "< 1).astype", "<= 1).astype"),
            ("sum instead of mean for dL/dw", "grad_w = -(active * y) @ X / n", "grad_w = -(active * y) @ X"),
            ("perceptron loss instead of hinge", "< 1).astype", "< 0).astype"),
            ("steps uphill", "return w - lr * grad_w, b - lr * grad_b", "return w + lr * grad_w, b + lr * grad_b"),
        ],
    },
    "ps2": {
        "absolute_loss": [
            ("gradient with the wrong sign", "grad = np.sign(f - y)", "grad = np.sign(y - f)"),
            ("signed residual instead of its absolute value", "loss = np.abs(y - f)", "loss = y - f"),
            ("subgradient +1 at the kink", "grad = np.sign(f - y)", "grad = np.where(f >= y, 1.0, -1.0)"),
        ],
        "squared_loss": [
            ("the factor 1/2 dropped", "return 0.5 * r ** 2, r", "return r ** 2, r"),
            ("gradient with the wrong sign", "return 0.5 * r ** 2, r", "return 0.5 * r ** 2, -r"),
            ("gradient twice too large", "return 0.5 * r ** 2, r", "return 0.5 * r ** 2, 2 * r"),
        ],
        "eps_insensitive_loss": [
            ("eps forgotten in the loss (the deck's typo)", "np.maximum(0.0, np.abs(r) - eps)", "np.abs(r)"),
            ("gradient not zero inside the tube", "grad = np.where(outside, np.sign(r), 0.0)", "grad = np.sign(r)"),
            ("edge of the tube counted as outside", "outside = np.abs(r) > eps", "outside = np.abs(r) >= eps"),
        ],
        "huber_loss": [
            ("linear part not shifted by 1/2", "np.abs(r) - 0.5)", "np.abs(r))"),
            ("gradient not clipped", "grad = np.where(small, r, np.sign(r))", "grad = r"),
            ("threshold at 2 instead of 1", "small = np.abs(r) <= 1", "small = np.abs(r) <= 2"),
        ],
        "logistic_loss": [
            ("overflows for large scores", "loss = np.logaddexp(0.0, z)",
             "loss = np.log(1 + np.exp(z))"),
            ("gradient with the wrong sign", "grad = -y * sigma", "grad = y * sigma"),
            ("sigma of the margin instead of minus the margin", "sigma = np.exp(z - loss)",
             "sigma = 1 - np.exp(z - loss)"),
        ],
        "hinge_loss": [
            ("kink counted as sloped", "grad = np.where(margin < 1, -y, 0.0)", "grad = np.where(margin <= 1, -y, 0.0)"),
            ("perceptron loss instead of hinge", "loss = np.maximum(0.0, 1.0 - margin)", "loss = np.maximum(0.0, -margin)"),
            ("gradient with the wrong sign", "grad = np.where(margin < 1, -y, 0.0)", "grad = np.where(margin < 1, y, 0.0)"),
        ],
        "logsumexp": [
            ("no shift: overflows", "return top[:, 0] + np.log(np.sum(np.exp(scores - top), axis=1))",
             "return np.log(np.sum(np.exp(scores), axis=1))"),
            ("shift not added back", "return top[:, 0] + np.log(", "return np.log("),
            ("max over the wrong axis", "top = np.max(scores, axis=1, keepdims=True)",
             "top = np.max(scores, axis=0, keepdims=True)"),
        ],
        "softmax": [
            ("no shift: overflows", "shifted = scores - np.max(scores, axis=1, keepdims=True)", "shifted = scores"),
            ("normalized over the wrong axis", "e / np.sum(e, axis=1, keepdims=True)", "e / np.sum(e, axis=0, keepdims=True)"),
            ("not normalized", "return e / np.sum(e, axis=1, keepdims=True)", "return e"),
        ],
        "softmax_cross_entropy": [
            ("gradient misses the -1 at the true class", "grad[rows, labels] -= 1.0", "pass"),
            ("loss without the log-sum-exp", "loss = log_norm - shifted[rows, labels]",
             "loss = -shifted[rows, labels]"),
            ("no shift: overflows", "shifted = scores - np.max(scores, axis=1, keepdims=True)", "shifted = scores"),
        ],
        "multiclass_hinge_loss": [
            ("margins ignored", "augmented = scores + delta[labels]", "augmented = scores.copy()"),
            ("margin matrix transposed", "augmented = scores + delta[labels]", "augmented = scores + delta[:, labels].T"),
            ("gradient misses the -1 at the true class", "grad[rows, labels] -= 1.0", "pass"),
        ],
        "least_squares": [
            ("X^T y without solving", "return np.linalg.solve(X.T @ X, X.T @ y)", "return X.T @ y"),
            ("ridge term added", "np.linalg.solve(X.T @ X, X.T @ y)",
             "np.linalg.solve(X.T @ X + 0.1 * np.eye(X.shape[1]), X.T @ y)"),
            ("diagonal of X^T X only", "np.linalg.solve(X.T @ X, X.T @ y)",
             "(X.T @ y) / np.sum(X * X, axis=0)"),
        ],
        "sgd": [
            ("weight decay ignored", 'g = dw + config["weight_decay"] * w', "g = dw"),
            ("steps uphill", 'return w - config["learning_rate"] * g, config', 'return w + config["learning_rate"] * g, config'),
            ("decoupled weight decay (not torch's SGD)", 'g = dw + config["weight_decay"] * w\n    return w - config["learning_rate"] * g, config',
             'g = dw\n    return w * (1 - config["weight_decay"]) - config["learning_rate"] * g, config'),
        ],
        "sgd_momentum": [
            ("velocity not kept between steps", '    config["velocity"] = v\n    return w - config["learning_rate"] * v, config',
             '    return w - config["learning_rate"] * v, config'),
            ("weight decay ignored", 'g = dw + config["weight_decay"] * w', "g = dw"),
            ("dampened velocity", 'v = config["momentum"] * v + g', 'v = config["momentum"] * v + (1 - config["momentum"]) * g'),
        ],
        "nesterov_momentum": [
            ("plain momentum step", '(g + config["momentum"] * v)', "v"),
            ("look-ahead with the old velocity", 'v = config["momentum"] * v + g\n    config["velocity"] = v\n    return w - config["learning_rate"] * (g + config["momentum"] * v), config',
             'step = g + config["momentum"] * v\n    config["velocity"] = config["momentum"] * v + g\n    return w - config["learning_rate"] * step, config'),
            ("weight decay ignored", 'g = dw + config["weight_decay"] * w', "g = dw"),
        ],
        "adagrad": [
            ("eps inside the square root", '(np.sqrt(G) + config["eps"])', 'np.sqrt(G + config["eps"])'),
            ("sums gradients instead of their squares", '+ g ** 2', "+ np.abs(g)"),
            ("sum of squares not kept", '    config["sum"] = G\n', ""),
        ],
        "rmsprop": [
            ("eps inside the square root", '(np.sqrt(s) + config["eps"])', 'np.sqrt(s + config["eps"])'),
            ("alpha and 1 - alpha swapped", 's = a * config.get("square_avg", np.zeros_like(w)) + (1 - a) * g ** 2',
             's = (1 - a) * config.get("square_avg", np.zeros_like(w)) + a * g ** 2'),
            ("average not kept", '    config["square_avg"] = s\n', ""),
        ],
        "adam": [
            ("no bias correction", 'm_hat = m / (1 - config["beta1"] ** t)\n    v_hat = v / (1 - config["beta2"] ** t)',
             "m_hat, v_hat = m, v"),
            ("step counter never advances", "config.update(t=t, m=m, v=v)", "config.update(m=m, v=v)"),
            ("eps inside the square root", '(np.sqrt(v_hat) + config["eps"])', 'np.sqrt(v_hat + config["eps"])'),
            ("decoupled weight decay (AdamW)", 'g = dw + config["weight_decay"] * w',
             'g = dw\n    w = w * (1 - config["learning_rate"] * config["weight_decay"])'),
        ],
        "learning_rate_schedule": [
            ("t counted from 0", "t = np.arange(1, T + 1, dtype=float)", "t = np.arange(T, dtype=float) + 0.0"),
            ("exponential decays with base beta", 'return hyper["alpha"] * np.exp(-hyper["beta"] * t)',
             'return hyper["alpha"] * hyper["beta"] ** t'),
            ("polynomial without gamma", '(hyper["beta"] + t) ** hyper["gamma"]', '(hyper["beta"] + t)'),
        ],
        "train_softmax_regression": [
            ("steps uphill", "W -= learning_rate * X[batch].T @ dscores", "W += learning_rate * X[batch].T @ dscores"),
            ("W returned transposed", "return W, b", "return W.T, b"),
            ("never trains", "for epoch in range(epochs):", "for epoch in range(0):"),
        ],
    },
}

ALTERNATIVES = {
    "ps1": {
        "predict": [
            ("loops, int labels", '''def predict(X, w, b):
    labels = []
    for x in X:
        score = b
        for j in range(len(w)):
            score += w[j] * x[j]
        labels.append(1 if score >= 0 else -1)
    return np.array(labels)
'''),
            ("float32 arithmetic", '''def predict(X, w, b):
    scores = X.astype(np.float32) @ w.astype(np.float32) + np.float32(b)
    return np.where(scores >= 0, np.float32(1), np.float32(-1))
'''),
        ],
        "perceptron_update": [
            ("in-place update of a copy", '''def perceptron_update(w, b, x, y):
    w = w.copy()
    if y * (np.dot(w, x) + b) <= 0:
        w += y * x
        b += y
    return w, float(b)
'''),
        ],
        "train_perceptron": [
            ("while loop, float32 weights, helpers at top level", '''EPOCH_LIMIT_MESSAGE = "stopped"

def is_mistake(w, b, x, y):
    return y * (np.dot(w, x) + b) <= 0

def train_perceptron(X, y, max_epochs):
    X = X.astype(np.float32)
    w = np.zeros(X.shape[1], dtype=np.float32)
    b = np.float32(0)
    total, epoch = 0, 0
    while epoch < max_epochs:
        epoch += 1
        errors = 0
        for x_i, y_i in zip(X, y):
            if is_mistake(w, b, x_i, y_i):
                w = w + np.float32(y_i) * x_i
                b = b + np.float32(y_i)
                errors += 1
        total += errors
        if errors == 0:
            return w, b, total, True
    return w, b, total, False
'''),
        ],
        "geometric_margin": [
            ("loop with math.sqrt", '''import math

def geometric_margin(X, y, w, b):
    norm = math.sqrt(sum(v * v for v in w))
    return min(y_i * (x_i @ w + b) for x_i, y_i in zip(X, y)) / norm
'''),
        ],
        "mistake_bound": [
            ("float32 arithmetic, float('inf')", '''def mistake_bound(X, y, w, b):
    X, w = X.astype(np.float32), w.astype(np.float32)
    scale = np.sqrt(np.sum(w * w))
    margins = y * (X @ w + np.float32(b)) / scale
    rho = margins.min()
    if not rho > 0:
        return float("inf")
    r2 = (X * X).sum(axis=1).max()
    return float(((b / scale) ** 2 + 1) * (r2 + 1) / rho ** 2)
'''),
        ],
        "hinge_sgd_step": [
            ("loop over examples, prints and warns", '''import sys, warnings

def hinge_sgd_step(w, b, X, y, lr):
    print("taking a step", file=sys.stderr)
    warnings.warn("this is a harmless warning")
    grad_w, grad_b = np.zeros_like(w), 0.0
    for x_i, y_i in zip(X, y):
        if y_i * (x_i @ w + b) < 1:
            grad_w -= y_i * x_i
            grad_b -= y_i
    n = len(y)
    return w - lr * grad_w / n, b - lr * grad_b / n
'''),
        ],
    },
    "ps2": {
        "absolute_loss": [("loops over examples", '''def absolute_loss(f, y):
    loss, grad = np.zeros(len(f)), np.zeros(len(f))
    for i in range(len(f)):
        r = f[i] - y[i]
        loss[i] = r if r >= 0 else -r
        grad[i] = 1.0 if r > 0 else (-1.0 if r < 0 else 0.0)
    return loss, grad
''')],
        "huber_loss": [("np.clip for the gradient", '''def huber_loss(f, y):
    r = f - y
    a = np.abs(r)
    return np.where(a <= 1, 0.5 * r * r, a - 0.5), np.clip(r, -1.0, 1.0)
''')],
        "logistic_loss": [("a stable sigmoid by cases", '''def logistic_loss(f, y):
    z = -y * f
    loss = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
    sigma = np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))
    return loss, -y * sigma
''')],
        "softmax": [("loops over rows and entries", '''import math

def softmax(scores):
    out = np.empty(scores.shape)
    for i, row in enumerate(scores):
        top = max(row)
        e = [math.exp(v - top) for v in row]
        total = sum(e)
        out[i] = [v / total for v in e]
    return out
''')],
        "hinge_loss": [("float32 arithmetic", '''def hinge_loss(f, y):
    f, y = f.astype(np.float32), y.astype(np.float32)
    margin = y * f
    return np.maximum(0, 1 - margin), np.where(margin < 1, -y, np.float32(0))
''')],
        "squared_loss": [("float32 arithmetic", '''def squared_loss(f, y):
    r = (f - y).astype(np.float32)
    return np.float32(0.5) * r * r, r
''')],
        "softmax_cross_entropy": [("one-hot matrix, own stable log-sum-exp", '''def softmax_cross_entropy(scores, labels):
    n, k = scores.shape
    onehot = np.eye(k)[labels]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -(onehot * log_probs).sum(axis=1), np.exp(log_probs) - onehot
''')],
        "least_squares": [("np.linalg.lstsq", '''def least_squares(X, y):
    return np.linalg.lstsq(X, y, rcond=None)[0]
'''), ("pseudo-inverse", '''def least_squares(X, y):
    return np.linalg.pinv(X) @ y
''')],
        "sgd_momentum": [("state under another name, copies", '''def sgd_momentum(w, dw, config):
    config = dict(config)
    buf = config.setdefault("buf", None)
    g = dw + config["weight_decay"] * w
    buf = g.copy() if buf is None else config["momentum"] * buf + g
    config["buf"] = buf
    next_w = w.copy()
    next_w -= config["learning_rate"] * buf
    return next_w, config
''')],
        "adam": [("bias corrections folded into the step size, as torch does", '''import math

def adam(w, dw, config):
    state = config.setdefault("state", {"step": 0, "exp_avg": np.zeros_like(w), "exp_avg_sq": np.zeros_like(w)})
    beta1, beta2 = config["beta1"], config["beta2"]
    g = dw + config["weight_decay"] * w
    state["step"] += 1
    state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
    state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
    step_size = config["learning_rate"] / (1 - beta1 ** state["step"])
    denom = np.sqrt(state["exp_avg_sq"]) / math.sqrt(1 - beta2 ** state["step"]) + config["eps"]
    return w - step_size * state["exp_avg"] / denom, config
''')],
        "learning_rate_schedule": [("a dict of lambdas, a Python list", '''import math

SCHEDULES = {
    "constant": lambda t, h: h["eta0"],
    "inverse_sqrt": lambda t, h: h["eta0"] / math.sqrt(t),
    "polynomial": lambda t, h: h["alpha"] / (h["beta"] + t) ** h["gamma"],
    "exponential": lambda t, h: h["alpha"] * math.exp(-h["beta"] * t),
}

def learning_rate_schedule(kind, T, hyper):
    return [SCHEDULES[kind](t, hyper) for t in range(1, T + 1)]
''')],
        "train_softmax_regression": [("float32 weights, different shuffling", '''def train_softmax_regression(X, y, num_classes, epochs, batch_size, learning_rate, seed):
    X = X.astype(np.float32)
    W = np.zeros((X.shape[1], num_classes), dtype=np.float32)
    b = np.zeros(num_classes, dtype=np.float32)
    rng = np.random.default_rng(seed + 1)
    for epoch in range(epochs):
        for batch in np.array_split(rng.permutation(len(y)), max(1, len(y) // batch_size)):
            s = X[batch] @ W + b
            p = np.exp(s - s.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(batch)), y[batch]] -= 1
            W -= learning_rate * X[batch].T @ p / len(batch)
            b -= learning_rate * p.mean(axis=0)
    return W, b
''')],
    },
}


def mutate(source: str, old: str, new: str) -> str:
    if old not in source:
        raise ValueError(f"planted bug does not apply: {old!r} is not in the master's solution")
    return source.replace(old, new)


def with_mutant(master_nb, release_nb, function: str, old: str, new: str):
    answers = solution_sources(master_nb)
    answers[function] = mutate(answers[function], old, new)
    return fill(release_nb, answers)


def with_alternative(master_nb, release_nb, function: str, source: str):
    answers = solution_sources(master_nb)
    answers[function] = source
    return fill(release_nb, answers)


def sample_class(problem_set: str, master_nb, release_nb) -> list[tuple[str, str, bytes | None, int]]:
    """The demo's class: (student, what it is, notebook bytes, expected auto points)."""
    from autograder.registry import get_problem_set

    ps = get_problem_set(problem_set)
    first, second = ps.functions[0], ps.functions[2]
    as_bytes = lambda nb: nbformat.writes(nb).encode()
    full = full_solution(master_nb, release_nb)
    # partial: a planted bug in two functions
    answers = solution_sources(master_nb)
    for fn in (first, second):
        _, old, new = MUTANTS[problem_set][fn.name][0]
        answers[fn.name] = mutate(answers[fn.name], old, new)
    partial = fill(release_nb, answers)
    # crashing: one function raises, one never returns, one kills the process
    answers = solution_sources(master_nb)
    answers[first.name] = f"def {first.signature}:\n    raise ValueError('shapes do not match')\n"
    answers[second.name] = f"def {second.signature}:\n    while True:\n        pass\n"
    crashing = fill(release_nb, answers)
    corrupt = as_bytes(full)[: len(as_bytes(full)) // 2]
    lost = first.points + second.points
    return [
        ("ada", "the full solution", as_bytes(full), ps.total_points),
        ("ben", "the untouched release", as_bytes(release_nb), 0),
        ("cleo", f"partially correct (bugs in {first.name}, {second.name})", as_bytes(partial), ps.total_points - lost),
        ("dev", f"{first.name} raises, {second.name} never returns", as_bytes(crashing), ps.total_points - lost),
        ("eve", "a corrupt file (cut in half)", corrupt, 0),
        ("fay", "on the roster, submitted nothing", None, 0),
        ("zed", "not on the roster", as_bytes(full), 0),
    ]
