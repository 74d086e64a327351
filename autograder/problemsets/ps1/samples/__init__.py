"""Problem set 1's samples: planted bugs and correct alternatives (full solutions: not installed for students).

A *mutant* is (description, text in the master's solution, replacement[, misconception]): it must
lose that function's points and only those, and get the hint of the known mistake its fourth element names
(one of the function's misconceptions), or none without one. An *alternative* is a different but correct
implementation (loops, float32 arithmetic, helpers, prints...): it must keep full marks.
"""

MUTANTS = {
    "predict": [
        ("score 0 predicted as -1", "scores >= 0", "scores > 0", "zero_as_negative"),
        ("np.sign gives 0 on the hyperplane", "np.where(scores >= 0, 1.0, -1.0)", "np.sign(scores)",
         "sign_of_zero_is_zero"),
        ("bias forgotten", "scores = X @ w + b", "scores = X @ w"),
    ],
    "perceptron_update": [
        ("a point on the hyperplane is not a mistake", "if y * (w @ x + b) <= 0:", "if y * (w @ x + b) < 0:",
         "on_hyperplane_is_correct"),
        ("label ignored in the update", "return w + y * x, b + y", "return w + x, b + 1"),
        ("bias not updated", "return w + y * x, b + y", "return w + y * x, b"),
        ("updates inside the hinge's margin too", "if y * (w @ x + b) <= 0:", "if y * (w @ x + b) <= 1:"),
        ("the bias's sign flipped in the mistake test", "if y * (w @ x + b) <= 0:", "if y * (w @ x - b) <= 0:"),
    ],
    "train_perceptron": [
        ("strict inequality: never leaves w = 0", "if y[i] * (X[i] @ w + b) <= 0:", "if y[i] * (X[i] @ w + b) < 0:",
         "on_hyperplane_is_correct"),
        ("counts only the last epoch's mistakes", "mistakes += epoch_mistakes", "mistakes = epoch_mistakes"),
        ("claims convergence when max_epochs runs out", "return w, b, mistakes, False", "return w, b, mistakes, True"),
        ("bias never updated", "w, b = w + y[i] * X[i], b + y[i]", "w = w + y[i] * X[i]"),
        ("a clean last allowed epoch not reported as converged", "            return w, b, mistakes, True",
         "            return w, b, mistakes, epoch < max_epochs - 1"),
    ],
    "geometric_margin": [
        ("functional margin (no division by ||w||)", " / np.linalg.norm(w)", ""),
        ("largest instead of smallest margin", "np.min(", "np.max("),
        ("unsigned distance", "np.min(y * (X @ w + b))", "np.min(np.abs(X @ w + b))"),
    ],
    "mistake_bound": [
        ("bias not rescaled with w", "w_star, b_star = w / norm, b / norm", "w_star, b_star = w / norm, b"),
        ("r^2 instead of r^2 + 1", "(r ** 2 + 1)", "r ** 2"),
        ("0 instead of infinity for a non-separator", "        return np.inf", "        return 0.0"),
        ("divides by rho instead of rho^2", "/ rho ** 2", "/ rho"),
        ("the bias added outside the label's sign", "y * (X @ w_star + b_star)", "y * (X @ w_star) + b_star"),
    ],
    "hinge_sgd_step": [
        ("kink counted as sloped", "< 1).astype", "<= 1).astype", "kink_counted_as_sloped"),
        ("sum instead of mean for dL/dw", "grad_w = -(active * y) @ X / n", "grad_w = -(active * y) @ X"),
        ("perceptron loss instead of hinge", "< 1).astype", "< 0).astype"),
        ("steps uphill", "return w - lr * grad_w, b - lr * grad_b", "return w + lr * grad_w, b + lr * grad_b"),
        ("updates only on mistakes (the perceptron's test)", "< 1).astype", "<= 0).astype"),
        ("bias left out of the margin test", "y * (X @ w + b) < 1", "y * (X @ w) < 1"),
    ],
}

ALTERNATIVES = {
    "predict": [
        ("%%time on the first line of the cell (the body runs as Python)", '''%%time
def predict(X, w, b):
    scores = X @ w + b
    return np.where(scores >= 0, 1.0, -1.0)
'''),
        ("%%capture, and display() of a value", '''%%capture shown
def predict(X, w, b):
    scores = X @ w + b
    display(scores[:3])
    return np.where(scores >= 0, 1.0, -1.0)
'''),
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
        ("a later cell that reuses the name predict for a one-example helper", '''def predict(x, w, b):
    """One example: the graded predict(X, w, b) was captured right after its own cell."""
    return 1.0 if x @ w + b >= 0 else -1.0

def train_perceptron(X, y, max_epochs):
    w, b, mistakes = np.zeros(X.shape[1]), 0.0, 0
    for epoch in range(max_epochs):
        made = 0
        for x_i, y_i in zip(X, y):
            if predict(x_i, w, b) != y_i or x_i @ w + b == 0:
                w, b, made = w + y_i * x_i, b + y_i, made + 1
        mistakes += made
        if made == 0:
            return w, b, mistakes, True
    return w, b, mistakes, False
'''),
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
}
