"""Sample submissions built from the masters: the demo's class and the test suite's.

A *mutant* is the master's solution of one function with one planted bug, written as
(description, text in the master, replacement); it must lose that function's points
and only those. An *alternative* is a different but correct implementation (loops
instead of vectorized code, float32 arithmetic); it must keep full marks.
"""
from __future__ import annotations

import copy
import re

import nbformat

from autograder.notebooks import nbgrader_meta

SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)

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
}


def solution_sources(master_nb) -> dict[str, str]:
    """Each solution cell's code as a student would write it (the markers removed)."""
    return {nbgrader_meta(c)["grade_id"]: SOLUTION_MARKERS.sub("", c.source)
            for c in master_nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("solution")}


def answer_sources(master_nb) -> dict[str, str]:
    """The master's model answers to the hand-graded questions."""
    return {nbgrader_meta(c)["grade_id"]: SOLUTION_MARKERS.sub("", c.source)
            for c in master_nb.cells if c.cell_type == "markdown" and nbgrader_meta(c).get("solution")}


def mutate(source: str, old: str, new: str) -> str:
    if old not in source:
        raise ValueError(f"planted bug does not apply: {old!r} is not in the master's solution")
    return source.replace(old, new)


def fill(release_nb, answers: dict[str, str]):
    """A copy of the release with the given cells (by grade_id) answered."""
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def full_solution(master_nb, release_nb):
    return fill(release_nb, {**solution_sources(master_nb), **answer_sources(master_nb)})


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
