"""Limits belong to the trusted process: deadlines only shrink, and a registry entry may ask for
less memory or CPU than the course-wide maxima for its own function (never more)."""
from __future__ import annotations

import dataclasses

import pytest

from autograder import samples
from autograder.grading.runner import Deadlines, Grader, Limits
from autograder.notebooks import program_cells
from autograder.registry import fresh_seed, get_problem_set

PS = "ps1"


def test_deadlines_only_shrink():
    budgets = {0: 5.0, 1: 3.0, 2: 4.0}
    clock = Deadlines(setup_s=10.0, budgets=budgets, run=[0, 1, 2], now=0.0)
    assert clock.cap == 22.0 and clock.deadline == 10.0
    assert not clock.start(1, now=1.0), "functions start in order"
    assert clock.start(0, now=2.0) and clock.deadline == 7.0
    assert not clock.start(0, now=6.0), "a start is accepted once"
    assert not clock.start(1, now=6.0), "no function starts while another is still running"
    assert clock.deadline == 7.0
    assert not clock.done(1) and clock.done(0)
    assert clock.start(1, now=20.0) and clock.deadline == 22.0, "never past setup + the sum of the budgets"
    assert clock.done(1) and clock.start(2, now=21.0) and clock.deadline == 22.0
    assert not clock.start(2, now=21.5) and not clock.start(0, now=21.5)
    # however many progress lines arrive, nothing moves the deadline past the cap
    for index in [0, 1, 2] * 100:
        clock.start(index, now=21.9)
    assert clock.deadline <= clock.cap == 22.0
    # a later process of the same submission never gets past the submission's own cap
    again = Deadlines(setup_s=10.0, budgets=budgets, run=[1, 2], now=20.0, cap=22.0)
    assert again.cap == 22.0 and again.deadline == 22.0


def greedy(source_body: str, name: str = "predict") -> str:
    return f"def {name}(X, w, b):\n{source_body}\n    scores = X @ w + b\n    return np.where(scores >= 0, 1.0, -1.0)\n"


@pytest.fixture(scope="module")
def ps1_with_limits():
    ps = get_problem_set(PS)
    tight = {"predict": {"memory_mb": 300}, "perceptron_update": {"cpu_s": 1}}
    functions = tuple(dataclasses.replace(fn, **tight.get(fn.name, {})) for fn in ps.functions)
    return dataclasses.replace(ps, functions=functions)


def test_a_function_gets_the_memory_its_entry_states(notebooks, ps1_with_limits):
    master, release = notebooks[PS]
    hungry = greedy("    block = np.ones(60_000_000)  # 480 MB: within the course's 2048, over predict's 300")
    nb = samples.with_alternative(master, release, "predict", hungry)
    seed = fresh_seed()
    with Grader(ps1_with_limits, seed) as grader:
        result = grader.grade(program_cells(master, nb))
    messages = " ".join(result.functions["predict"].messages)
    assert not result.functions["predict"].passed and "the limit for predict is 300 MiB" in messages, (seed, messages)
    # the limit is lifted again after predict: every other function keeps its points
    assert result.score == ps1_with_limits.total_points - 1, (seed, result.functions)
    with Grader(get_problem_set(PS), seed) as grader:  # the same code within the course-wide maximum
        assert grader.grade(program_cells(master, nb), only=["predict"]).functions["predict"].passed


def test_a_function_gets_the_cpu_time_its_entry_states(notebooks, ps1_with_limits):
    master, release = notebooks[PS]
    slow = '''def perceptron_update(w, b, x, y):
    import time
    spent = time.process_time()
    while time.process_time() - spent < 3:  # 3 CPU seconds: over perceptron_update's 1
        pass
    if y * (w @ x + b) <= 0:
        return w + y * x, b + y
    return w, b
'''
    nb = samples.with_alternative(master, release, "perceptron_update", slow)
    with Grader(ps1_with_limits, fresh_seed(), Limits(function_s=60)) as grader:
        result = grader.grade(program_cells(master, nb))
    assert "ran out of CPU time" in " ".join(result.functions["perceptron_update"].messages)
    assert result.score == ps1_with_limits.total_points - 1


def test_a_cpu_limit_holds_when_the_student_lifts_the_soft_limit(notebooks, ps1_with_limits):
    """The child's resource limit is only the first line: code that raises its own soft limit back to the hard
    one (or catches SIGXCPU) is still stopped, from the trusted side, which adds up the sandbox's CPU time."""
    master, release = notebooks[PS]
    lifted = '''def perceptron_update(w, b, x, y):
    import resource, signal, time
    signal.signal(signal.SIGXCPU, signal.SIG_IGN)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
    spent = time.process_time()
    while time.process_time() - spent < 6:  # 6 CPU seconds: over perceptron_update's 1 (and its grace)
        pass
    if y * (w @ x + b) <= 0:
        return w + y * x, b + y
    return w, b
'''
    nb = samples.with_alternative(master, release, "perceptron_update", lifted)
    with Grader(ps1_with_limits, fresh_seed(), Limits(function_s=60)) as grader:
        result = grader.grade(program_cells(master, nb))
    assert "ran out of CPU time" in " ".join(result.functions["perceptron_update"].messages), \
        result.functions["perceptron_update"].messages
    assert result.score == ps1_with_limits.total_points - 1
