"""Problem set 2's samples: planted bugs and correct alternatives (full solutions: not installed for students).

A *mutant* is (description, text in the master's solution, replacement[, misconception]): it must
lose that function's points and only those, and get the hint of the known mistake its fourth element names
(one of the function's misconceptions), or none without one. An *alternative* is a different but correct
implementation (loops, float32 arithmetic, helpers, prints...): it must keep full marks.
"""

MUTANTS = {
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
        ("tube half-width fixed at 1/2 in the gradient's test", "outside = np.abs(r) > eps", "outside = np.abs(r) > 0.5"),
        ("tube half-width fixed at 1/2 in the loss", "np.abs(r) - eps)", "np.abs(r) - 0.5)"),
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
        ("kink counted as sloped", "grad = np.where(margin < 1, -y, 0.0)", "grad = np.where(margin <= 1, -y, 0.0)",
         "kink_counted_as_sloped"),
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
        ("normalized over the wrong axis", "e / np.sum(e, axis=1, keepdims=True)",
         "e / np.sum(e, axis=0, keepdims=True)", "over_columns_row_shift"),
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
        ("w updated in place, as CS231n's w -= lr * dw (right values)", 'return w - config["learning_rate"] * g, config',
         'w -= config["learning_rate"] * g\n    return w, config'),
        ("decoupled weight decay (not torch's SGD)", 'g = dw + config["weight_decay"] * w\n    return w - config["learning_rate"] * g, config',
         'g = dw\n    return w * (1 - config["weight_decay"]) - config["learning_rate"] * g, config',
         "decoupled_weight_decay"),
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
        ("eps inside the square root", '(np.sqrt(G) + config["eps"])', 'np.sqrt(G + config["eps"])', "eps_inside_sqrt"),
        ("sums gradients instead of their squares", '+ g ** 2', "+ np.abs(g)"),
        ("sum of squares not kept", '    config["sum"] = G\n', ""),
    ],
    "rmsprop": [
        ("eps inside the square root", '(np.sqrt(s) + config["eps"])', 'np.sqrt(s + config["eps"])', "eps_inside_sqrt"),
        ("alpha and 1 - alpha swapped", 's = a * config.get("square_avg", np.zeros_like(w)) + (1 - a) * g ** 2',
         's = (1 - a) * config.get("square_avg", np.zeros_like(w)) + a * g ** 2'),
        ("average not kept", '    config["square_avg"] = s\n', ""),
    ],
    "adam": [
        ("no bias correction", 'm_hat = m / (1 - config["beta1"] ** t)\n    v_hat = v / (1 - config["beta2"] ** t)',
         "m_hat, v_hat = m, v", "no_bias_correction"),
        ("step counter never advances", "config.update(t=t, m=m, v=v)", "config.update(m=m, v=v)"),
        ("eps inside the square root", '(np.sqrt(v_hat) + config["eps"])', 'np.sqrt(v_hat + config["eps"])',
         "eps_inside_sqrt"),
        ("decoupled weight decay (AdamW)", 'g = dw + config["weight_decay"] * w',
         'g = dw\n    w = w * (1 - config["learning_rate"] * config["weight_decay"])', "decoupled_weight_decay"),
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
        # each of these still reaches 90 % held-out accuracy; only the exact cases catch them
        ("sums the minibatch gradient instead of averaging it", "dscores /= len(batch)", "dscores /= 1"),
        ("never updates b", "b -= learning_rate * dscores.sum(axis=0)", "b = b"),
        ("never shuffles", "order = rng.permutation(n)", "order = np.arange(n)"),
        ("drops the uneven last minibatch", "for start in range(0, n, batch_size):",
         "for start in range(0, n - batch_size + 1, batch_size):"),
        ("a new generator every epoch", "        order = rng.permutation(n)",
         "        order = np.random.default_rng(seed).permutation(n)"),
    ],
}

ALTERNATIVES = {
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
    "softmax_cross_entropy": [("a one-row softmax helper under the graded name softmax", '''def softmax(row):
    """One row only: the graded softmax(scores) was captured right after its own cell."""
    e = np.exp(row - row.max())
    return e / e.sum()

def softmax_cross_entropy(scores, labels):
    probs = np.array([softmax(row) for row in scores])
    log_probs = np.array([row - row.max() - np.log(np.exp(row - row.max()).sum()) for row in scores])
    rows = np.arange(len(labels))
    grad = probs.copy()
    grad[rows, labels] -= 1.0
    return -log_probs[rows, labels], grad
'''), ("one-hot matrix, own stable log-sum-exp", '''def softmax_cross_entropy(scores, labels):
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
    "train_softmax_regression": [("a loop over the minibatch's examples, an explicit one-hot matrix", '''def train_softmax_regression(X, y, num_classes, epochs, batch_size, learning_rate, seed):
    rng = np.random.default_rng(seed)
    W = np.zeros((X.shape[1], num_classes))
    b = np.zeros(num_classes)
    onehot = np.eye(num_classes)[y]
    for epoch in range(epochs):
        order = rng.permutation(len(y))
        batches = [order[i:i + batch_size] for i in range(0, len(y), batch_size)]
        for batch in batches:
            grad_W, grad_b = np.zeros_like(W), np.zeros_like(b)
            for i in batch:
                s = X[i] @ W + b
                p = np.exp(s - s.max())
                p = p / p.sum()
                grad_W += np.outer(X[i], p - onehot[i])
                grad_b += p - onehot[i]
            W = W - learning_rate * grad_W / len(batch)
            b = b - learning_rate * grad_b / len(batch)
    return W, b
'''), ("einsum and a log-sum-exp helper at top level", '''def log_softmax(scores):
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

def train_softmax_regression(X, y, num_classes, epochs, batch_size, learning_rate, seed):
    rng = np.random.default_rng(seed)
    n, d = X.shape
    W, b = np.zeros((d, num_classes)), np.zeros(num_classes)
    for _ in range(epochs):
        order = rng.permutation(n)
        start = 0
        while start < n:
            batch = order[start:start + batch_size]
            start += batch_size
            G = np.exp(log_softmax(np.einsum("bd,dk->bk", X[batch], W) + b))
            G[np.arange(len(batch)), y[batch]] -= 1
            G /= len(batch)
            W = W - learning_rate * np.einsum("bd,bk->dk", X[batch], G)
            b = b - learning_rate * G.sum(axis=0)
    return W, b
''')],
}
