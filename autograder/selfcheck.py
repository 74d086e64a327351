"""Self-check: the registry's references against the masters, through the real harness.

For each problem set and each seed (the visible one and fresh random ones, since every
grading run draws its own): the master's solutions score full marks, the untouched
release scores 0, every planted bug loses exactly its own function's points, and every
correct alternative keeps full marks. An honest submission's score must not depend on
the seed. The references run on CUDA when there is one (``AUTOGRADER_DEVICE`` forces a
device).
"""
from __future__ import annotations

import time

import nbformat

from autograder import samples
from autograder.course import Course
from autograder.device import reference_device
from autograder.grading.runner import Grader
from autograder.notebooks import program_cells
from autograder.registry import VISIBLE_SEED, fresh_seed, get_problem_set


def check_problem_set(course: Course, name: str, seed: int, log=print) -> list[str]:
    """Problems found (empty when everything holds)."""
    ps = get_problem_set(name)
    master = nbformat.read(course.master(name), as_version=4)
    release = nbformat.read(course.released(name), as_version=4)
    problems = []
    started = time.perf_counter()
    with Grader(ps, seed, course.limits) as grader:
        log(f"{name} (seed {seed}): references for {sum(len(c) for c in grader.cases.values())} hidden cases "
            f"in {time.perf_counter() - started:.2f} s")
        full = grader.grade(program_cells(master, samples.full_solution(master, release)))
        if full.score != ps.total_points:
            failing = [m for r in full.functions.values() if not r.passed for m in r.messages]
            problems.append(f"{name} (seed {seed}): master scores {full.score}/{ps.total_points}: " + " | ".join(failing))
        blank = grader.grade(program_cells(master, release))
        if blank.score != 0:
            problems.append(f"{name} (seed {seed}): the untouched release scores {blank.score}")
        if any("not defined" in m for r in blank.functions.values() for m in r.messages):
            problems.append(f"{name}: the release does not define every graded function")
        n_mutants = n_alternatives = 0
        for function, bugs in samples.mutants(name).items():
            for description, old, new in bugs:
                n_mutants += 1
                result = grader.grade(program_cells(master, samples.with_mutant(master, release, function, old, new)))
                lost = {n for n, r in result.functions.items() if not r.passed}
                # it must cost its own function, and nothing beyond the functions that use it by design
                if function not in lost or lost - {function} - ps.dependents(function):
                    problems.append(f"{name} (seed {seed}): planted bug '{description}' in {function} lost {sorted(lost) or 'nothing'}")
        for function, alternatives in samples.alternatives(name).items():
            for description, source in alternatives:
                n_alternatives += 1
                result = grader.grade(program_cells(master, samples.with_alternative(master, release, function, source)))
                if result.score != ps.total_points:
                    messages = result.functions[function].messages
                    problems.append(f"{name} (seed {seed}): correct alternative '{description}' of {function} lost points: "
                                    + " | ".join(messages))
    log(f"{name} (seed {seed}): master {full.score}/{ps.total_points}, release {blank.score}, {n_mutants} planted bugs, "
        f"{n_alternatives} alternatives checked in {time.perf_counter() - started:.1f} s "
        f"({full.seconds:.2f} s per submission)")
    return problems


def selfcheck(problem_sets, seeds: list[int] | None = None, random_seeds: int = 3, log=print) -> bool:
    """Check every problem set at ``seeds`` (default: the visible seed and ``random_seeds`` fresh ones)."""
    course = Course.load()
    seeds = list(seeds) if seeds else [VISIBLE_SEED] + [fresh_seed() for _ in range(random_seeds)]
    log(f"references on {reference_device()} (float64, TF32 off); seeds {', '.join(map(str, seeds))} "
        f"(repeat with --seed)")
    problems = []
    for name in problem_sets:
        for seed in seeds:
            problems += check_problem_set(course, name, seed, log)
    for line in problems:
        log(f"PROBLEM: {line}")
    log("self-check passed" if not problems else f"self-check FAILED: {len(problems)} problem(s)")
    return not problems
