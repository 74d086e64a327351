"""The benchmarks check before they time: a way of grading whose grades differ from the local pool's, or a master
whose outputs differ from torch's, gets no figure (the reason instead, and a non-zero exit)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from conv_bench import departure  # noqa: E402
from grading_bench import disagreement, grades, with_hidden_tests  # noqa: E402

from autograder.grading.judge import FunctionResult  # noqa: E402
from autograder.grading.judge import SubmissionResult  # noqa: E402
from autograder.instructor.grading_run import GradingRun  # noqa: E402
from autograder.instructor.release_plugin import RegistryPoints, released_source  # noqa: E402
from autograder.registry import get_problem_set  # noqa: E402


def run_of(scores: dict[str, dict[str, int]], faults: dict[str, str] = ()) -> GradingRun:
    run = GradingRun(seed=1)
    for student, functions in scores.items():
        run[student] = SubmissionResult({n: FunctionResult(n, 1, bool(p), 1, 1) for n, p in functions.items()}, {}, 0.1)
    run.grader_errors.update(dict(faults))
    return run


def test_a_way_of_grading_is_timed_only_when_it_gave_the_local_pools_grades():
    reference = grades(run_of({"ann": {"f": 1, "g": 0}, "bob": {"f": 1, "g": 1}}))
    assert disagreement(run_of({"ann": {"f": 1, "g": 0}, "bob": {"f": 1, "g": 1}}), reference, 2) is None
    other = disagreement(run_of({"ann": {"f": 1, "g": 1}, "bob": {"f": 1, "g": 1}}), reference, 2)
    assert other and "1 of 2 students got other grades" in other and "ann" in other
    faults = disagreement(run_of({"ann": {"f": 1, "g": 0}}, {"bob": "the sandboxed Python exited (exit code 2)"}),
                          reference, 2)
    assert faults and "1 of 2 submissions were grader faults" in faults and "exit code 2" in faults


def test_a_master_is_timed_only_when_it_equals_torch():
    a = np.arange(6.0).reshape(2, 3)
    assert departure(["out"], [a], [torch.tensor(a)]) is None
    assert "departs from torch's by up to 0.5" in departure(["out"], [a + np.eye(2, 3) * 0.5], [torch.tensor(a)])
    assert "has shape (3, 2)" in departure(["dx"], [a.T], [torch.tensor(a)])


def test_plain_nbgrader_gets_hidden_tests_and_the_students_the_committed_release(notebooks):
    """The masters hold no hidden tests (the harness never runs a test cell); the benchmark writes them into its
    copy for plain nbgrader autograde: after the release plugin every test cell runs the visible check and then
    the same function at a fresh seed (what nbgrader stores in its gradebook and runs), and nbgrader's
    ClearHiddenTests leaves the committed release's test cell."""
    from nbgrader.preprocessors import ClearHiddenTests

    master, release = notebooks["ps1"]
    nb, _ = RegistryPoints().preprocess(with_hidden_tests(master, "ps1"), {"nbgrader": {"assignment": "ps1"}})
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    released = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in release.cells}
    for fn in get_problem_set("ps1").functions:
        source = cells[fn.test_grade_id].source
        assert source.startswith(released_source("ps1", fn) + "\n### BEGIN HIDDEN TESTS\n")
        assert f'check("ps1", "{fn.name}", {fn.name}, seed=fresh_seed())' in source
        compile(source, fn.test_grade_id, "exec")
        cell, _ = ClearHiddenTests().preprocess_cell(cells[fn.test_grade_id], {}, 0)
        assert cell.source == released[fn.test_grade_id].source
    assert "HIDDEN TESTS" not in "".join(c.source for c in master.cells), "with_hidden_tests changed the master"
