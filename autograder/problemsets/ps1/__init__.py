"""Problem set 1: the perceptron.

Every graded function of the week: its signature, points, test inputs (random plus edge
cases) and a PyTorch reference. Inputs live on a grid of quarters so that a correct
implementation in float32 makes exactly the same decisions as one in float64.
"""
from __future__ import annotations

import numpy as np
import torch

from autograder.registry import Case, GradedFunction, Misconception, ProblemSet


# ----------------------------------------------------------------------------- data
def on_grid(a: np.ndarray) -> np.ndarray:
    """Round to multiples of 1/4: sums of such numbers are exact in float32 and float64."""
    return np.round(np.asarray(a, dtype=np.float64) * 4) / 4


def labels(scores: np.ndarray) -> np.ndarray:
    """The perceptron's convention: sign(0) = +1."""
    return np.where(scores >= 0, 1.0, -1.0)


def separable_data(rng, n: int, d: int, margin: float, radius: float = 3.0, with_separator=False):
    """``n`` points in ``d`` dimensions on the quarter grid, separated by a random unit
    hyperplane (w*, b*) with a gap of at least ``margin`` on each side.
    Returns X (n, d), y (n,) and, if asked, w* (d,) and b*."""
    w_star = rng.normal(size=d)
    w_star /= np.linalg.norm(w_star)
    b_star = rng.uniform(-0.5, 0.5)
    X = np.empty((0, d))
    while len(X) < n:
        candidates = on_grid(rng.uniform(-radius, radius, size=(4 * n, d)))
        keep = np.abs(candidates @ w_star + b_star) >= margin
        X = np.vstack([X, candidates[keep]])
    X = X[:n]
    y = labels(X @ w_star + b_star)
    return (X, y, w_star, b_star) if with_separator else (X, y)


def xor_data():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    y = np.array([-1.0, -1.0, 1.0, 1.0])
    return X, y


def random_separator(rng, d: int):
    """A random (w, b) on the quarter grid, w never zero: rounding can zero every weight (at about one seed in a
    thousand for d = 4), and a zero w has no hyperplane, no margin (0 / 0) and no predictions to grade."""
    w = on_grid(rng.normal(size=d))
    while not w.any():
        w = on_grid(rng.normal(size=d))
    return w, float(on_grid(rng.normal()))


# ----------------------------------------------------------------------- predict
def predict_cases(rng):
    cases = []
    for n, d in [(7, 3), (12, 1), (5, 9)]:
        X = on_grid(rng.normal(size=(n, d)) * 2)
        w, b = random_separator(rng, d)
        cases.append(Case(f"random X of shape {(n, d)}", (X, w, b)))
    X = np.array([[1.0, 1.0], [2.0, -1.0], [0.0, 0.5], [-1.0, -1.0]])
    cases.append(Case("points exactly on the hyperplane (score 0 counts as +1)", (X, np.array([1.0, -1.0]), 0.0)))
    cases.append(Case("a bias that outweighs the inputs", (on_grid(rng.normal(size=(6, 2))), np.array([0.25, -0.25]), -5.0)))
    cases.append(Case("batch of one", (on_grid(rng.normal(size=(1, 4))), *random_separator(rng, 4))))
    cases.append(Case("zero weights and zero bias", (on_grid(rng.normal(size=(3, 2))), np.zeros(2), 0.0)))
    return cases


def predict_reference(X, w, b):
    scores = X @ w + b
    return torch.where(scores >= 0, 1.0, -1.0).to(torch.float64)


def predict_sign_zero(X, w, b):
    """Known mistake: torch.sign / np.sign, which gives 0 on the hyperplane."""
    return torch.sign(X @ w + b)


def predict_zero_negative(X, w, b):
    """Known mistake: a score of exactly 0 predicted as -1 (a strict inequality)."""
    return torch.where(X @ w + b > 0, 1.0, -1.0).to(torch.float64)


# ----------------------------------------------------------------------- update
def update_cases(rng):
    cases = []
    d = 3
    for label in (1.0, -1.0):
        w, b = random_separator(rng, d)
        x = on_grid(rng.normal(size=d) * 2)
        score = x @ w + b
        # choose y so that the point is misclassified, then one that is classified correctly
        y_wrong = -1.0 if score >= 0 else 1.0
        cases.append(Case(f"a mistake (y = {y_wrong:+.0f})", (w, b, x, y_wrong)))
        cases.append(Case(f"a correctly classified point (y = {-y_wrong:+.0f})", (w, b, x, -y_wrong)))
    cases.append(Case("the first step from w = 0, b = 0 (score 0 counts as a mistake)",
                      (np.zeros(4), 0.0, on_grid(rng.normal(size=4)), -1.0)))
    w = np.array([1.0, -1.0])
    cases.append(Case("a point exactly on the hyperplane with y = -1", (w, 0.0, np.array([2.0, 2.0]), -1.0)))
    cases.append(Case("a point exactly on the hyperplane with y = +1", (w, 0.0, np.array([2.0, 2.0]), 1.0)))
    # both sides of the perceptron's boundary (0), and away from the hinge's (1): correctly classified
    # points with a functional margin of 1/4 and of exactly 1 are not mistakes
    for margin in (0.25, 1.0):
        w, x, y = on_grid(rng.normal(size=d)), on_grid(rng.normal(size=d) * 2), float(rng.choice([-1.0, 1.0]))
        b = float(y * margin - x @ w)  # sixteenths: exact, so y (<w, x> + b) is exactly the margin
        cases.append(Case(f"a correctly classified point with margin {margin:g} (not a mistake)", (w, b, x, y)))
    # the bias decides: without b the point is classified one way, with b the other
    s = 0.0
    while s == 0.0:
        w, x = on_grid(rng.normal(size=d)), on_grid(rng.normal(size=d) * 2)
        s = float(x @ w)
    y = 1.0 if s > 0 else -1.0
    cases.append(Case("the bias turns a correct score into a mistake", (w, -s - 0.25 * y, x, y)))
    cases.append(Case("the bias turns a wrong score into a correct one", (w, 0.25 * -y - s, x, -y)))
    return cases


def update_reference(w, b, x, y):
    if y * (torch.dot(w, x) + b) <= 0:
        return w + y * x, b + y
    return w.clone(), torch.tensor(float(b), dtype=torch.float64)


def update_on_hyperplane_correct(w, b, x, y):
    """Known mistake: a point exactly on the hyperplane (score 0) treated as correctly classified."""
    if y * (torch.dot(w, x) + b) < 0:
        return w + y * x, b + y
    return w.clone(), torch.tensor(float(b), dtype=torch.float64)


# ----------------------------------------------------------------------- train
def train_cases(rng):
    cases = []
    for n, d, margin in [(20, 2, 0.5), (40, 5, 0.4), (30, 10, 0.6)]:
        X, y = separable_data(rng, n, d, margin)
        cases.append(Case(f"separable data, n={n}, d={d}, margin {margin}", (X, y, 100)))
    X, y = xor_data()
    cases.append(Case("XOR (not separable), max_epochs=10", (X, y, 10)))
    X, y = separable_data(rng, 60, 3, 0.3)
    y[:3] = -y[:3]  # label noise: almost surely no longer separable
    cases.append(Case("noisy labels, max_epochs=7", (X, y, 7)))
    x = on_grid(rng.normal(size=(1, 3)))
    cases.append(Case("a single point with y = -1", (x, np.array([-1.0]), 5)))
    X, y = separable_data(rng, 25, 2, 0.5)
    cases.append(Case("max_epochs=1 stops after one pass", (X, y, 1)))
    # both sides of the max_epochs boundary: the clean epoch is exactly the last one allowed, and one short of it
    X, y = separable_data(rng, 12, 2, 0.25)
    w, b, epochs, clean = np.zeros(2), 0.0, 0, False
    while not clean:  # epochs the perceptron takes, the clean one included: at least 2 (exact on the quarter grid)
        epochs, clean = epochs + 1, True
        for x_i, y_i in zip(X, y):
            if y_i * (x_i @ w + b) <= 0:
                w, b, clean = w + y_i * x_i, b + y_i, False
    cases.append(Case("max_epochs exactly enough: the last allowed epoch is the clean one (converged)",
                      (X, y, epochs)))
    cases.append(Case("max_epochs one short of the clean epoch (not converged)", (X, y, epochs - 1)))
    return cases


def train_reference(X, y, max_epochs, strict=False):
    """Epochs over the examples in order; a mistake is y (<w, x> + b) <= 0 (``strict``: < 0, a known mistake)."""
    n, d = X.shape
    w = torch.zeros(d, dtype=torch.float64, device=X.device)
    b = torch.zeros((), dtype=torch.float64, device=X.device)
    mistakes, converged = 0, False
    for _ in range(max_epochs):
        epoch_mistakes = 0
        for i in range(n):
            score = y[i] * (X[i] @ w + b)
            if score < 0 or (score == 0 and not strict):
                w = w + y[i] * X[i]
                b = b + y[i]
                epoch_mistakes += 1
        mistakes += epoch_mistakes
        if epoch_mistakes == 0:
            converged = True
            break
    return w, b, mistakes, converged


def train_on_hyperplane_correct(X, y, max_epochs):
    """Known mistake: the strict test y (<w, x> + b) < 0, so a score of 0 is no mistake."""
    return train_reference(X, y, max_epochs, strict=True)


# ----------------------------------------------------------------------- margin
def margin_cases(rng):
    cases = []
    for n, d in [(15, 2), (8, 6)]:
        X, y, w_star, b_star = separable_data(rng, n, d, 0.3, with_separator=True)
        scale = rng.uniform(0.5, 3.0)
        cases.append(Case(f"a separating (w, b), n={n}, d={d}", (X, y, scale * w_star, scale * b_star)))
    X, y = separable_data(rng, 12, 4, 0.3)
    w, b = random_separator(rng, 4)
    cases.append(Case("a random (w, b)", (X, y, w, b)))
    X, y, w_star, b_star = separable_data(rng, 10, 3, 0.5, with_separator=True)
    cases.append(Case("a separator scaled by 1000 (the margin does not change)",
                      (X, y, 1000 * w_star, 1000 * b_star)))
    cases.append(Case("batch of one", (np.array([[3.0, 4.0]]), np.array([1.0]), np.array([0.6, 0.8]), -1.0)))
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 3.0]])
    cases.append(Case("a separator that misclassifies a point (negative margin)",
                      (X, np.array([-1.0, 1.0, 1.0]), np.array([2.0, 0.0]), 0.5)))
    return cases


def margin_reference(X, y, w, b):
    return torch.min(y * (X @ w + b)) / torch.linalg.norm(w)


# ----------------------------------------------------------------------- bound
def bound_cases(rng):
    cases = []
    for n, d, margin in [(30, 2, 0.4), (20, 7, 0.8)]:
        X, y = separable_data(rng, n, d, margin)
        # a separator that certainly works: fit it with a few perceptron epochs on exact data
        w, b = np.zeros(d), 0.0
        for _ in range(1000):
            wrong = y * (X @ w + b) <= 0
            if not wrong.any():
                break
            i = int(np.argmax(wrong))
            w, b = w + y[i] * X[i], b + y[i]
        cases.append(Case(f"a separating (w, b) on n={n}, d={d}", (X, y, w, b)))
    X = np.array([[1.0, 2.0], [-2.0, 1.0], [2.0, -0.5]])
    cases.append(Case("a (w, b) that does not separate the data (the bound is infinite)",
                      (X, np.array([1.0, 1.0, -1.0]), np.array([1.0, 0.0]), 0.0)))
    cases.append(Case("batch of one, with a bias", (np.array([[2.0, 0.0]]), np.array([1.0]), np.array([3.0, 4.0]), 5.0)))
    # the closest point is a negative one and the bias is not 0: y multiplies the bias too
    d, ties = 3, True
    while ties:  # one closest point, not a tie with a positive one
        w, b = on_grid(rng.normal(size=d)), float(rng.choice([-1.0, 1.0]) * rng.choice([0.5, 0.75, 1.25]))
        X = on_grid(rng.normal(size=(9, d)) * 2)
        X = X[X @ w + b != 0]
        y = labels(X @ w + b)
        margins = y * (X @ w + b)
        ties = np.sum(margins == margins.min()) > 1
    if y[np.argmin(margins)] > 0:  # negate the separator and the labels: same margins, closest point negative
        w, b, y = -w, -b, -y
    cases.append(Case("the closest point has y = -1, and a bias", (X, y, w, b)))
    # the boundary rho = 0: a point exactly on the hyperplane (||w|| a power of 2, so w / ||w|| is exact)
    d = 2
    w = np.zeros(d)
    w[rng.integers(d)] = float(rng.choice([-2.0, -0.5, 0.5, 2.0]))
    b = float(on_grid(rng.normal()))
    X = on_grid(rng.normal(size=(5, d)) * 2)
    X[0] = X[0] - w * (X[0] @ w + b) / (w @ w)  # projected onto the hyperplane: exact on the quarter grid
    y = labels(X @ w + b)
    cases.append(Case("a point exactly on the hyperplane (rho = 0: the bound is infinite)", (X, y, w, b)))
    return cases


def bound_reference(X, y, w, b):
    norm = torch.linalg.norm(w)
    w_star, b_star = w / norm, b / norm
    rho = torch.min(y * (X @ w_star + b_star))
    if rho <= 0:
        return torch.tensor(float("inf"), dtype=torch.float64)
    r = torch.max(torch.linalg.norm(X, dim=1))
    return (b_star ** 2 + 1) * (r ** 2 + 1) / rho ** 2


# ----------------------------------------------------------------------- hinge
def hinge_cases(rng):
    cases = []
    for n, d in [(16, 3), (5, 8)]:
        X = on_grid(rng.normal(size=(n, d)))
        y = labels(rng.normal(size=n))
        w, b = random_separator(rng, d)
        cases.append(Case(f"random minibatch, n={n}, d={d}", (w, b, X, y, 0.1)))
    X = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [2.0, 2.0]])
    y = np.array([1.0, -1.0, 1.0, 1.0])
    cases.append(Case("margins exactly 1 (the hinge is flat there: zero subgradient)",
                      (np.array([1.0, -1.0]), 0.0, X, y, 0.5)))
    cases.append(Case("every point beyond the margin (no change)",
                      (np.array([2.0, 2.0]), 0.0, np.array([[1.0, 1.0], [-1.0, -2.0]]), np.array([1.0, -1.0]), 0.3)))
    cases.append(Case("batch of one", (np.zeros(3), 0.0, on_grid(rng.normal(size=(1, 3))), np.array([-1.0]), 1.0)))
    # both sides of the hinge's kink and of the perceptron's boundary: margins 0, 1/4, 3/4, 1, 5/4, 2 exactly
    d = 3
    w, b = on_grid(rng.normal(size=d)), float(on_grid(rng.normal()))
    w[0] = float(rng.choice([-1.0, 1.0]))
    margins = np.array([0.0, 0.25, 0.75, 1.0, 1.25, 2.0])
    y = np.where(rng.random(len(margins)) < 0.5, -1.0, 1.0)
    X = on_grid(rng.normal(size=(len(margins), d)))
    X[:, 0] = (y * margins - b - X[:, 1:] @ w[1:]) / w[0]  # so that y_i (<w, x_i> + b) is exactly the margin
    cases.append(Case("margins exactly 0, 1/4, 3/4, 1, 5/4 and 2 (inside, on and beyond the hinge's kink)",
                      (w, b, X, y, 0.5)))
    # the bias decides: without b the point is on one side of the margin 1, with b on the other
    for inside in (True, False):
        while True:
            w, x = on_grid(rng.normal(size=d)), on_grid(rng.normal(size=(1, d)) * 2)
            s = float(x[0] @ w)
            if (abs(s) >= 1.25) if inside else (0 < abs(s) <= 0.75):  # y <w, x> beyond / inside the margin
                break
        y = 1.0 if s > 0 else -1.0
        b = float(y * (0.75 if inside else 1.25) - s)  # with b: margin 3/4 (inside) or 5/4 (beyond)
        what = "pulls a point inside the margin" if inside else "pushes a point beyond the margin"
        cases.append(Case(f"the bias {what}", (w, b, x, np.array([y]), 1.0)))
    return cases


def hinge_reference(w, b, X, y, lr):
    w = w.clone().requires_grad_(True)
    b = torch.tensor(float(b), dtype=torch.float64, device=w.device, requires_grad=True)
    loss = torch.relu(1 - y * (X @ w + b)).mean()
    grad_w, grad_b = torch.autograd.grad(loss, (w, b))
    with torch.no_grad():
        return w - lr * grad_w, b - lr * grad_b


def hinge_kink_sloped(w, b, X, y, lr):
    """Known mistake: the subgradient -y x_i (not 0) where the margin is exactly 1."""
    sloped = (y * (X @ w + b) <= 1).to(torch.float64)
    n = X.shape[0]
    grad_w = -(sloped * y) @ X / n
    grad_b = -torch.sum(sloped * y) / n
    return w - lr * grad_w, b - lr * grad_b


SIGN_OF_ZERO = "a score of exactly 0 given the sign 0 (NumPy's sign); the perceptron's convention is sign(0) = +1"
ZERO_AS_NEGATIVE = "a score of exactly 0 predicted as -1; the perceptron's convention is sign(0) = +1"
ON_HYPERPLANE = ("a point exactly on the hyperplane (score 0) treated as correctly classified; "
                 "the perceptron counts it as a mistake")
HINGE_KINK = "the hinge's kink (margin exactly 1) counted as sloped; the subgradient there is 0"


PROBLEM_SET = ProblemSet(
    name="ps1",
    title="Problem set 1: the perceptron",
    functions=(
        GradedFunction(name="predict", signature="predict(X, w, b)", returns=("y_hat",), points=1,
                       make_cases=predict_cases, reference=predict_reference, rtol=0.0, atol=0.0,
                       misconceptions=(Misconception("sign_of_zero_is_zero", predict_sign_zero, SIGN_OF_ZERO),
                                       Misconception("zero_as_negative", predict_zero_negative, ZERO_AS_NEGATIVE))),
        GradedFunction(name="perceptron_update", signature="perceptron_update(w, b, x, y)", returns=("w", "b"),
                       points=1, make_cases=update_cases, reference=update_reference, rtol=0.0, atol=1e-12,
                       misconceptions=(Misconception("on_hyperplane_is_correct", update_on_hyperplane_correct,
                                                     ON_HYPERPLANE),)),
        GradedFunction(name="train_perceptron", signature="train_perceptron(X, y, max_epochs)",
                       returns=("w", "b", "mistakes", "converged"), points=3, make_cases=train_cases,
                       reference=train_reference, rtol=0.0, atol=1e-9,
                       misconceptions=(Misconception("on_hyperplane_is_correct", train_on_hyperplane_correct,
                                                     ON_HYPERPLANE),)),
        GradedFunction(name="geometric_margin", signature="geometric_margin(X, y, w, b)", returns=("rho",), points=1,
                       make_cases=margin_cases, reference=margin_reference, rtol=1e-6, atol=1e-9),
        GradedFunction(name="mistake_bound", signature="mistake_bound(X, y, w, b)", returns=("bound",), points=2,
                       make_cases=bound_cases, reference=bound_reference, rtol=1e-6, atol=1e-9),
        GradedFunction(name="hinge_sgd_step", signature="hinge_sgd_step(w, b, X, y, lr)", returns=("w", "b"), points=2,
                       make_cases=hinge_cases, reference=hinge_reference, rtol=1e-6, atol=1e-9,
                       misconceptions=(Misconception("kink_counted_as_sloped", hinge_kink_sloped, HINGE_KINK),)),
    ),
)
