"""Grading through the real pipeline: masters, releases, planted bugs, alternatives, tampering."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import nbformat
import pytest

from adversarial import ATTACKS
from autograder.grading import notebooks as notebooks_module
from autograder import instructor
from autograder.authoring import samples
from autograder.config import Course
from autograder.grading.grader import Grader
from autograder.grading.notebooks import program_cells
from autograder.registry import PROBLEM_SET_NAMES, VISIBLE_SEED, fresh_seed, get_problem_set
from conftest import make_course, submit

PS = "ps1"
# attacks that fool plain nbgrader, and crashes whose reason must be reported
# (tests/test_adversarial.py grades the whole corpus)
TAMPERING = ["input_transformer", "custom_exception_handler", "monkeypatch_numpy", "fake_modules", "lying_ndarray"]
CRASHES = ["exit_at_top_level", "sys_exit_in_function", "flood_stdout", "memory_bomb", "segfault", "object_array"]


def class_members(name, master, release):
    """student -> (notebook, {function: expected points})."""
    ps = get_problem_set(name)
    full_points = {fn.name: fn.points for fn in ps.functions}
    members = {
        "master": (samples.full_solution(master, release), full_points),
        "release": (release, {n: 0 for n in full_points}),
    }
    for function, bugs in samples.mutants(name).items():
        for i, (_, old, new) in enumerate(bugs):
            members[f"bug_{function}_{i}"] = (samples.with_mutant(master, release, function, old, new),
                                              {**full_points, function: 0})
    for function, alternatives in samples.alternatives(name).items():
        for i, (_, source) in enumerate(alternatives):
            members[f"alt_{function}_{i}"] = (samples.with_alternative(master, release, function, source), full_points)
    if name == PS:
        for attack in TAMPERING + CRASHES:
            function, source = ATTACKS[attack]
            members[f"attack_{attack}"] = (samples.with_alternative(master, release, function, source), None)
    return members


def grade_class(root, name, master, release):
    members = class_members(name, master, release)
    for student, (nb, _) in members.items():
        submit(root, name, student, nb)
    course = Course.load(root)
    results = instructor.autograde(course, name, log=lambda line: None)
    columns, table = instructor.table(course, name)
    return course, members, results, table


@pytest.fixture(scope="session")
def graded_classes(tmp_path_factory, notebooks):
    """Every problem set's class (master, release, planted bugs, alternatives) graded in one course."""
    root = make_course(tmp_path_factory.mktemp("course"))
    return {name: grade_class(root, name, *notebooks[name]) for name in PROBLEM_SET_NAMES}


@pytest.fixture(scope="session")
def graded_class(graded_classes):
    return graded_classes[PS]


def auto_points(table, student):
    return {k.removeprefix("test_"): v for k, v in table[student].items() if k.startswith("test_")}


@pytest.mark.parametrize("name", PROBLEM_SET_NAMES)
def test_master_scores_full_marks_and_release_zero(graded_classes, name):
    course, members, results, table = graded_classes[name]
    ps = get_problem_set(name)
    assert sum(auto_points(table, "master").values()) == ps.total_points
    assert sum(auto_points(table, "release").values()) == 0
    release = results["release"]
    assert not release.notes, "the release must not break the harness"
    for fn in release.functions.values():
        assert any("NotImplementedError" in m for m in fn.messages), fn.messages


@pytest.mark.parametrize("name", PROBLEM_SET_NAMES)
def test_each_planted_bug_loses_exactly_its_function(graded_classes, name):
    course, members, results, table = graded_classes[name]
    assert all(len(samples.mutants(name)[fn.name]) >= 3 for fn in get_problem_set(name).functions)
    ps = get_problem_set(name)
    for student, (_, expected) in members.items():
        if student.startswith("bug_"):
            function = student.removeprefix("bug_").rsplit("_", 1)[0]
            got = auto_points(table, student)
            assert got[function] == 0, (student, f"seed {results.seed}")
            # nothing else is lost, but for the functions that use the buggy one by design (a backward pass
            # uses its forward's cache, the training loop the loss)
            users = ps.dependents(function)
            assert {k: v for k, v in got.items() if k not in users} == {k: v for k, v in expected.items()
                                                                        if k not in users}, (student, f"seed {results.seed}")


@pytest.mark.parametrize("name", PROBLEM_SET_NAMES)
def test_correct_alternatives_keep_full_marks(graded_classes, name):
    course, members, results, table = graded_classes[name]
    for student, (_, expected) in members.items():
        if student.startswith("alt_"):
            assert auto_points(table, student) == expected, (student, f"seed {results.seed}", results[student].functions)


def test_tampering_never_earns_the_points_of_a_wrong_function(graded_class):
    course, members, results, table = graded_class
    for attack in TAMPERING + CRASHES:
        function = ATTACKS[attack][0]
        points = auto_points(table, f"attack_{attack}")
        assert points[function] == 0, attack


def test_tampering_in_one_cell_does_not_cost_the_others(graded_class):
    """Attacks that leave the process alive keep the points of the untouched functions."""
    course, members, results, table = graded_class
    ps = get_problem_set(PS)
    for attack in ["input_transformer", "monkeypatch_numpy", "fake_modules", "lying_ndarray",
                   "sys_exit_in_function", "flood_stdout", "memory_bomb", "segfault", "object_array"]:
        points = auto_points(table, f"attack_{attack}")
        others = {fn.name: fn.points for fn in ps.functions if fn.name != "predict"}
        assert {k: points[k] for k in others} == others, (attack, results[f"attack_{attack}"].notes)


def test_crashes_are_reported_with_their_reason(graded_class):
    course, members, results, table = graded_class
    assert any("exited the process" in n for n in results["attack_exit_at_top_level"].notes)
    flood = " ".join(results["attack_flood_stdout"].functions["predict"].messages)
    assert "File too large" in flood or "output" in flood
    assert "segmentation fault" in results["attack_segfault"].functions["predict"].messages[0]
    memory = " ".join(results["attack_memory_bomb"].functions["predict"].messages)
    assert "MemoryError" in memory or "memory" in memory


def test_feedback_messages_are_informative(graded_class):
    course, members, results, table = graded_class
    shape_bug = results["bug_predict_0"].functions["predict"].messages
    assert any("on the hyperplane" in m and "expected" in m and "got" in m for m in shape_bug)
    honest = [r for s, r in results.items() if r and not s.startswith("attack_")]
    assert all("torch" not in m and "reference" not in m for r in honest for f in r.functions.values() for m in f.messages)


@pytest.mark.parametrize("seed", [VISIBLE_SEED], ids=["visible_seed"])
@pytest.mark.parametrize("name", PROBLEM_SET_NAMES)
def test_planted_bugs_are_caught_and_alternatives_kept_at_other_seeds(notebooks, name, seed):
    """Discrimination does not hinge on one lucky seed: every grading run draws its own. The whole class above is
    graded at a fresh seed; here the visible seed, which the students' own checks use. (A second fresh seed here
    cost 70 s of the suite's 20-minute budget; `selfcheck --random-seeds N` sweeps as many as wanted. That a
    planted bug costs only its own function is shown on the whole class above; here only the function under test
    is graded, which is what makes this sweep cheap.)"""
    master, release = notebooks[name]
    ps = get_problem_set(name)
    with Grader(ps, seed) as grader:
        for function, bugs in samples.mutants(name).items():
            for description, old, new in bugs:
                result = grader.grade(program_cells(master, samples.with_mutant(master, release, function, old, new)),
                                      only=[function])
                assert not result.functions[function].passed, f"seed {seed}: planted bug '{description}' slipped"
        for function, alternatives in samples.alternatives(name).items():
            for description, source in alternatives:
                result = grader.grade(program_cells(master, samples.with_alternative(master, release, function, source)),
                                      only=[function])
                assert result.functions[function].passed, f"seed {seed}: '{description}': {result.functions[function]}"


def test_gradebook_and_autograded_notebooks_are_written(graded_class):
    course, members, results, table = graded_class
    graded = nbformat.read(course.autograded / "bug_predict_0" / PS / f"{PS}.ipynb", as_version=4)
    test_cell = next(c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_predict")
    assert test_cell.outputs[0].output_type == "error"
    assert (course.autograded / "master" / PS / "autograder_report.json").exists()


def test_cli_autograde_on_the_standard_layout(tmp_path, notebooks, repo):
    root = make_course(tmp_path / "course")
    master, release = notebooks[PS]
    submit(root, PS, "alice", samples.full_solution(master, release))
    submit(root, PS, "bob", samples.with_mutant(master, release, "predict", *samples.mutants(PS)["predict"][0][1:]))
    run = subprocess.run([sys.executable, "-m", "autograder", "autograde", PS], cwd=root,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "s per submission" in run.stdout
    lines = {line.split()[0]: line for line in run.stdout.splitlines() if line.startswith(("alice", "bob"))}
    assert lines["alice"].split()[-1] == "10" and lines["bob"].split()[-1] == "9"
    assert "submission/s" not in run.stderr          # no progress bar when standard error is not a terminal
    run = subprocess.run([sys.executable, "-m", "autograder", "autograde", PS, "--student", "carol"], cwd=root,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "no submission of ps1 for carol" in run.stderr

    # on a terminal: a tqdm bar (rate, ETA) on standard error, the one line per submission still on standard output
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))     # a 120-column terminal
    run = subprocess.run([sys.executable, "-m", "autograder", "autograde", PS], cwd=root, stdout=subprocess.PIPE,
                         stderr=follower, text=True, timeout=300)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert run.returncode == 0
    assert re.search(rb"100%.*2/2.*submission/s", shown), shown[-500:]
    assert "alice: 10/10 auto points" in run.stdout


def test_selfcheck_sweeps_the_visible_and_fresh_seeds(template, tmp_path):
    root = make_course(tmp_path / "course")
    run = subprocess.run([sys.executable, "-m", "autograder", "selfcheck", "ps1", "--random-seeds", "2"], cwd=root,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "self-check passed" in run.stdout
    seeds = run.stdout.split("seeds ", 1)[1].split(" (repeat")[0].split(", ")
    assert len(seeds) == 3 and seeds[0] == str(VISIBLE_SEED) and len(set(seeds)) == 3
    assert run.stdout.count("planted bugs") == 3


def test_a_forbidden_import_is_located_in_the_feedback(notebooks):
    """A copied check(...) at the end of a solution cell breaks the NumPy-only rule; the feedback says where."""
    master, release = notebooks[PS]
    source = samples.solution_sources(master)["predict"]
    copied = source + '\nfrom autograder.student.visible import check\ncheck("ps1", "predict", predict)\n'
    inside = source.replace("    scores = X @ w + b", "    import torch\n    scores = X @ w + b")
    with Grader(get_problem_set(PS), fresh_seed()) as grader:
        for variant, where in ((copied, "at the top level of the cell"), (inside, "inside predict")):
            result = grader.grade(program_cells(master, samples.with_alternative(master, release, "predict", variant)),
                                  only=["predict"])
            message = " ".join(result.functions["predict"].messages)
            assert not result.functions["predict"].passed and where in message and "NumPy only" in message, message


ADDED_HELPERS = '''import matplotlib.pyplot as plt   # not in the sandbox: this import fails, the rest still runs
import math
THRESHOLD: float = 0.0
POSITIVE, NEGATIVE = 1.0, -1.0

def _scores(X, w, b):
    return X @ w + b
'''
ADDED_EXPERIMENT = '''%%time
plt.plot(_scores(np.eye(3), np.ones(3), 0.0))
while True:   # an experiment that never ends: it must not run while grading
    pass
'''
USES_HELPERS = '''def predict(X, w, b):
    return np.where(_scores(X, w, b) >= THRESHOLD, POSITIVE, NEGATIVE)
'''


def test_cells_the_student_added_give_their_definitions_only(notebooks):
    """Helpers, imports and constants in cells of the student's own keep their points; the experiments in those
    cells (plots, timings, a loop that never ends) do not run, and the feedback says they were skipped."""
    master, release = notebooks[PS]
    nb = samples.with_alternative(master, release, "predict", USES_HELPERS)
    at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "predict")
    nb.cells.insert(at, nbformat.v4.new_code_cell(ADDED_HELPERS))         # above the cell that uses them
    nb.cells.insert(at + 2, nbformat.v4.new_code_cell(ADDED_EXPERIMENT))  # below it
    nb.cells.append(nbformat.v4.new_code_cell("def predict(X, w, b):\n    return -np.ones(len(X))\n"))
    with Grader(get_problem_set(PS), fresh_seed()) as grader:
        full = grader.grade(program_cells(master, samples.full_solution(master, release)), only=["predict"])
        result = grader.grade(program_cells(master, nb), only=["predict"])
    predict = result.functions["predict"]
    assert predict.passed and predict.points == full.functions["predict"].points, predict.messages
    assert result.seconds < 25, "the added cell's endless loop ran"
    assert any("2 statement(s)" in note and "skipped" in note for note in result.notes), result.notes


def test_an_added_cell_keeps_imports_definitions_and_constants_each_guarded():
    code, skipped = notebooks_module.added_definitions(
        "import no_such_module\nK = 3\nrng = np.random.default_rng(0)\nx = K * 2 + 1\n"
        "def f():\n    return K\nf()\nclass A:\n    pass\n%timeit f()\n")
    assert skipped == 3  # the call to default_rng, f() and the %timeit line
    namespace = {}
    exec(code, namespace)
    assert namespace["f"]() == 3 and namespace["x"] == 7 and "A" in namespace and "rng" not in namespace
    assert notebooks_module.added_definitions("def broken(:\n") == ("", 1)
    assert notebooks_module.added_definitions("%%html\n<b>hi</b>\n") == ("", 0)


def test_a_backward_pass_is_judged_on_its_own_output_beside_a_wrong_forward(notebooks):
    """One rule for every forward/backward pair (the ps3 handout): the backward runs on the student's own forward's
    cache and is judged on its own output. A dropout_forward whose out is wrong (scaled twice) but whose cache holds
    the right mask costs dropout_forward's points only; dropout_backward keeps its own."""
    master, release = notebooks["ps3"]
    wrong_out = '''def dropout_forward(x, p, mode, seed):
    if mode == "eval":
        return x.copy(), (None, mode)
    rng = np.random.default_rng(seed)
    mask = (rng.random(x.shape) >= p) / (1.0 - p)
    return 2 * x * mask, (mask, mode)
'''
    nb = samples.with_alternative(master, release, "dropout_forward", wrong_out)
    with Grader(get_problem_set("ps3"), fresh_seed()) as grader:
        result = grader.grade(program_cells(master, nb), only=["dropout_forward", "dropout_backward"])
    assert not result.functions["dropout_forward"].passed
    assert result.functions["dropout_backward"].passed, result.functions["dropout_backward"].messages
