"""Limits belong to the trusted process: deadlines only shrink, and a registry entry may ask for
less memory or CPU than the course-wide maxima for its own function (never more)."""
from __future__ import annotations

import dataclasses

import pytest

from autograder.authoring import samples
from autograder.grading.grader import Grader
from autograder.grading.limits import Limits
from autograder.grading.supervise import Deadlines
from autograder.grading.notebooks import program_cells
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


def test_a_timeout_says_which_of_the_students_functions_took_the_time(notebooks):
    """train_perceptron runs out of time because the perceptron_update it calls is slow (which passes its own few
    cases in time): the message names perceptron_update, with its seconds and calls, not only train_perceptron."""
    master, release = notebooks[PS]
    ps = get_problem_set(PS)
    short = tuple(dataclasses.replace(fn, time_limit_s=4.0) if fn.name == "train_perceptron" else fn
                  for fn in ps.functions)
    ps = dataclasses.replace(ps, functions=short)
    slow_update = '''def perceptron_update(w, b, x, y):
    import time
    time.sleep(0.05)
    if y * (w @ x + b) <= 0:
        return w + y * x, b + y
    return w.copy(), b
'''
    calling = '''def train_perceptron(X, y, max_epochs):
    w, b, mistakes = np.zeros(X.shape[1]), 0.0, 0
    for epoch in range(max_epochs):
        made = 0
        for i in range(len(X)):
            new_w, new_b = perceptron_update(w, b, X[i], y[i])
            if new_b != b or not np.array_equal(new_w, w):
                made += 1
            w, b = new_w, new_b
        mistakes += made
        if made == 0:
            return w, b, mistakes, True
    return w, b, mistakes, False
'''
    nb = samples.with_alternative(master, release, "train_perceptron",
                                  {"perceptron_update": slow_update, "train_perceptron": calling})
    with Grader(ps, fresh_seed()) as grader:
        result = grader.grade(program_cells(master, nb), only=["perceptron_update", "train_perceptron"])
    assert result.functions["perceptron_update"].passed, result.functions["perceptron_update"].messages
    message = " ".join(result.functions["train_perceptron"].messages)
    assert "timed out after 4 s" in message and "your functions it calls took perceptron_update" in message, message
    seconds = float(message.split("perceptron_update ")[1].split(" s")[0])
    assert seconds >= 2.0, message
