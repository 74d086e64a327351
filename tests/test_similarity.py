"""`similarity`: a copied notebook is found however it is disguised; independent work and the release are not.

The class (problem set 1): alice (the master's code with two helper functions of her own), alice's notebook copied
by mallory (every variable renamed, the helpers moved after the functions, comments rewritten, blank lines
changed), bob and carol (each their own correct solutions, in two other styles), and dave and erin (the untouched
release).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.instructor import similarity
from autograder.grading.notebooks import fill, solution_sources

REPO = Path(__file__).resolve().parent.parent
RELEASE = nbformat.read(REPO / "assignments" / "ps1" / "ps1.ipynb", as_version=4)
MASTER = nbformat.read(REPO / "solutions" / "ps1" / "ps1.ipynb", as_version=4)


def stub_header(grade_id: str) -> str:
    """The release's def line and docstring of a solution cell (what every student starts from)."""
    source = next(c.source for c in RELEASE.cells if c.cell_type == "code"
                  and c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return source[:source.index("raise NotImplementedError")].rstrip() + "\n"


def alice() -> dict[str, str]:
    cells = dict(solution_sources(MASTER))
    cells["train_perceptron"] = '''def is_mistake(w, b, x, label):
    # a point is a mistake when it is on the wrong side or on the boundary
    return label * (x @ w + b) <= 0


''' + cells["train_perceptron"].replace("if y[i] * (X[i] @ w + b) <= 0:", "if is_mistake(w, b, X[i], y[i]):")
    cells["mistake_bound"] = '''def radius(X):
    # the largest norm of an input
    return np.max(np.linalg.norm(X, axis=1))


''' + cells["mistake_bound"].replace("r = np.max(np.linalg.norm(X, axis=1))", "r = radius(X)")
    return cells


RENAMES = {"scores": "s", "epoch_mistakes": "errs_this_pass", "mistakes": "n_updates", "epoch": "ep",
           "is_mistake": "wrong_side", "radius": "max_len", "norm": "length", "w_star": "unit_w",
           "b_star": "unit_b", "rho": "margin", "active": "mask", "grad_w": "gw", "grad_b": "gb", "label": "t"}


def mallory() -> dict[str, str]:
    """alice's cells, disguised: names changed, helpers moved below the function, comments rewritten."""
    cells = {}
    for grade_id, source in alice().items():
        source = re.sub(r"#[^\n]*", "# my own note here", source)
        for old, new in RENAMES.items():
            source = re.sub(rf"\b{old}\b", new, source)
        blocks = re.split(r"\n\n\n", source.strip())
        if len(blocks) > 1:          # the helper goes after the graded function
            source = "\n\n".join(blocks[1:] + blocks[:1]) + "\n"
        cells[grade_id] = source.replace("\n    return", "\n\n    return")
    return cells


def bob() -> dict[str, str]:
    """Loops everywhere."""
    return {
        "predict": stub_header("predict") + '''    out = []
    for row in X:
        total = b + sum(wj * xj for wj, xj in zip(w, row))
        out.append(1.0 if total >= 0 else -1.0)
    return np.array(out)
''',
        "perceptron_update": stub_header("perceptron_update") + '''    activation = b
    for j in range(len(x)):
        activation += w[j] * x[j]
    new_w = np.array(w, dtype=float)
    if y * activation > 0:
        return new_w, b
    for j in range(len(x)):
        new_w[j] += y * x[j]
    return new_w, b + y
''',
        "train_perceptron": stub_header("train_perceptron") + '''    weights = np.zeros(X.shape[1])
    bias = 0.0
    count = 0
    passes = 0
    while passes < max_epochs:
        passes += 1
        clean = True
        for xi, yi in zip(X, y):
            if yi * (np.dot(weights, xi) + bias) <= 0:
                weights = weights + yi * xi
                bias += yi
                count += 1
                clean = False
        if clean:
            return weights, bias, count, True
    return weights, bias, count, False
''',
        "geometric_margin": stub_header("geometric_margin") + '''    length = np.sqrt(sum(v * v for v in w))
    smallest = None
    for xi, yi in zip(X, y):
        value = yi * (np.dot(w, xi) + b) / length
        if smallest is None or value < smallest:
            smallest = value
    return float(smallest)
''',
        "mistake_bound": stub_header("mistake_bound") + '''    length = np.sqrt(np.dot(w, w))
    worst = min(yi * (np.dot(w, xi) + b) for xi, yi in zip(X, y)) / length
    if worst <= 0:
        return np.inf
    biggest = max(np.dot(xi, xi) for xi in X)
    return ((b / length) ** 2 + 1) * (biggest + 1) / worst ** 2
''',
        "hinge_sgd_step": stub_header("hinge_sgd_step") + '''    gw = np.zeros_like(w, dtype=float)
    gb = 0.0
    for xi, yi in zip(X, y):
        if yi * (np.dot(w, xi) + b) < 1:
            gw -= yi * xi
            gb -= yi
    gw /= len(X)
    gb /= len(X)
    return w - lr * gw, b - lr * gb
''',
    }


def carol() -> dict[str, str]:
    """Vectorized, another way: einsum, signs, norms by hand."""
    return {
        "predict": stub_header("predict") + '''    z = np.einsum("nd,d->n", X, w) + b
    labels = np.sign(z)
    labels[labels == 0] = 1
    return labels.astype(float)
''',
        "perceptron_update": stub_header("perceptron_update") + '''    wrong = float(np.sign(y * (np.dot(x, w) + b)) <= 0)
    return w + wrong * y * x, b + wrong * y
''',
        "train_perceptron": stub_header("train_perceptron") + '''    theta = np.zeros(X.shape[1] + 1)
    Xa = np.hstack([X, np.ones((len(X), 1))])
    total = 0
    for _ in range(max_epochs):
        made = 0
        for k in range(len(Xa)):
            if y[k] * Xa[k].dot(theta) <= 0:
                theta += y[k] * Xa[k]
                made += 1
        total += made
        if not made:
            return theta[:-1], theta[-1], total, True
    return theta[:-1], theta[-1], total, False
''',
        "geometric_margin": stub_header("geometric_margin") + '''    margins = y * (X.dot(w) + b)
    return margins.min() / np.sqrt(w.dot(w))
''',
        "mistake_bound": stub_header("mistake_bound") + '''    scale = np.sqrt(w.dot(w))
    gamma = (y * (X.dot(w) + b)).min() / scale
    if not gamma > 0:
        return np.inf
    R2 = (X ** 2).sum(axis=1).max()
    return (1 + (b / scale) ** 2) * (1 + R2) / gamma ** 2
''',
        "hinge_sgd_step": stub_header("hinge_sgd_step") + '''    m = y * (X.dot(w) + b)
    coef = np.where(m < 1, -y, 0.0) / len(y)
    return w - lr * coef.dot(X), b - lr * coef.sum()
''',
    }


def the_class() -> dict[str, object]:
    return {"alice": fill(RELEASE, alice()), "mallory": fill(RELEASE, mallory()), "bob": fill(RELEASE, bob()),
            "carol": fill(RELEASE, carol()), "dave": RELEASE, "erin": RELEASE}


def test_the_disguised_copy_is_flagged_and_nothing_else():
    found = similarity.compare(the_class(), RELEASE, "ps1")
    assert [(p.a, p.b) for p in found.pairs] == [("alice", "mallory")], [
        (p.a, p.b, round(p.similarity, 2)) for p in found.pairs]
    copied = found.pairs[0]
    assert copied.similarity > 0.8, copied
    # every function of the copy shares fingerprints with the original
    assert all(shared for shared, _ in copied.functions.values()), copied.functions


def test_the_pairs_that_are_not_flagged_are_far_below_the_threshold():
    found = similarity.compare(the_class(), RELEASE, "ps1", threshold=0.0, min_shared=0)
    scores = {(p.a, p.b): p.similarity for p in found.pairs}
    assert scores.pop(("alice", "mallory")) > 0.8
    assert max(scores.values(), default=0) < 0.35, scores
    # the untouched releases share nothing at all: the release's own code is left out
    assert ("dave", "erin") not in scores


def test_the_normalization_ignores_names_comments_and_layout():
    one = similarity.normalize("def f(a, b):\n    # add\n    total = a + b\n    return total\n")
    two = similarity.normalize("def g(x,y):\n\n    s = x+y   # sum\n    return s\n")
    assert one.kinds == two.kinds
    assert similarity.normalize("np.maximum(x, 0)").kinds != similarity.normalize("np.minimum(x, 0)").kinds
    # what Python cannot tokenize is still compared, word by word
    assert similarity.normalize("%%time\ndef f(:\n").kinds


def test_winnowing_finds_every_shared_run_of_the_guaranteed_length():
    import random

    rng = random.Random(3)
    words = [f"t{rng.randrange(40)}" for _ in range(400)]
    for start in range(0, 380, 37):
        run = words[start:start + similarity.K + similarity.W - 1]
        a = similarity.Tokens(run + ["x"] * 5, list(range(len(run) + 5)))
        b = similarity.Tokens(["y"] * 7 + run, list(range(len(run) + 7)))
        fa = similarity.winnow(similarity.kgrams(a))
        fb = similarity.winnow(similarity.kgrams(b))
        assert set(fa) & set(fb), start


def test_hostile_and_broken_submissions_are_listed_not_fatal():
    broken = {"cells": [{"cell_type": "code", "source": 5, "metadata": {"nbgrader": "no"}}, "junk"]}
    found = similarity.compare({**the_class(), "zed": broken, "yan": "cannot open ps1.ipynb: not JSON"},
                               RELEASE, "ps1")
    assert found.unreadable == {"yan": "cannot open ps1.ipynb: not JSON"}
    assert [(p.a, p.b) for p in found.pairs] == [("alice", "mallory")]


def test_the_command_and_the_class_report(tmp_path):
    """Through the command line on a course folder: the page holds both cells side by side, matches marked."""
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    (course / "assignments" / "ps1").mkdir(parents=True)
    nbformat.write(RELEASE, course / "assignments" / "ps1" / "ps1.ipynb")
    for student, nb in the_class().items():
        folder = course / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "ps1.ipynb")
    (course / "submitted" / "zoe" / "ps1").mkdir(parents=True)
    (course / "submitted" / "zoe" / "ps1" / "ps1.ipynb").write_text("{not json")
    run = subprocess.run([sys.executable, "-m", "autograder", "--course", str(course), "similarity", "ps1"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 pair(s) at or above 50% similarity" in run.stdout, run.stdout
    assert "alice and mallory" in run.stdout and "not compared: zoe" in run.stdout, run.stdout
    page = (course / "reports" / "ps1-similarity.html").read_text()
    assert "<mark>" in page and "wrong_side" in page and "is_mistake" in page
    assert "bob" not in page.split("<h2>", 2)[1] if "<h2>" in page else True


def test_a_class_without_submissions_says_so(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    run = subprocess.run([sys.executable, "-m", "autograder", "--course", str(course), "similarity", "ps1"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "not released" in (run.stdout + run.stderr), run.stdout + run.stderr


def test_the_benchmark_finds_its_planted_copies():
    """benchmarks/similarity_bench.py on a class of 60 (docs/instructors.md's figure is for 300): every copy listed."""
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "similarity_bench.py"), "--students", "60"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    listed = re.search(r"(\d+) pair\(s\) listed.*the (\d+) planted copies: (\d+) listed", run.stdout)
    assert listed and listed[2] == listed[3] == "5" and listed[1] == "5", run.stdout
