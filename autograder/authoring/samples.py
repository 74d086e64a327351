"""Sample submissions built from the masters: the demo's class and the test suite's.

A *mutant* is the master's solution of one function with one planted bug, written as
(description, text in the master, replacement); it must lose that function's points
and only those. An *alternative* is a different but correct implementation (loops
instead of vectorized code, float32 arithmetic); it must keep full marks. Both live in
each problem set's own folder, ``autograder/problemsets/<ps>/samples/``, which is not
installed for students.
"""
from __future__ import annotations

import importlib

import nbformat

from autograder.grading.notebooks import fill, full_solution, solution_sources  # noqa: F401 (re-exported for tests)


class Bug(tuple):
    """A planted bug: ``(description, old, new)``, the text ``old`` of the master's solution replaced by ``new``.

    It unpacks as those three. ``misconception`` names the known wrong convention (one of the graded function's
    ``misconceptions``) whose hint the bug must get, or is None: then it must get no hint. The tables in
    ``samples/`` write it as an optional fourth element."""

    def __new__(cls, description: str, old: str, new: str, misconception: str | None = None):
        bug = super().__new__(cls, (description, old, new))
        bug.misconception = misconception
        return bug

    @property
    def description(self) -> str:
        return self[0]

    @property
    def old(self) -> str:
        return self[1]

    @property
    def new(self) -> str:
        return self[2]


def mutants(problem_set: str) -> dict[str, list[Bug]]:
    """{function: [Bug(description, text in the master, replacement[, misconception]), ...]} of a problem set."""
    return {function: [Bug(*entry) for entry in entries] for function, entries in _samples(problem_set).MUTANTS.items()}


def alternatives(problem_set: str) -> dict[str, list[tuple[str, str]]]:
    """{function: [(description, source), ...]}: correct implementations that must keep full marks
    (``source`` may be a dict {cell: source} that replaces several cells together)."""
    return _samples(problem_set).ALTERNATIVES


def _samples(problem_set: str):
    return importlib.import_module(f"autograder.problemsets.{problem_set}.samples")


def mutate(source: str, old: str, new: str) -> str:
    if old not in source:
        raise ValueError(f"planted bug does not apply: {old!r} is not in the master's solution")
    return source.replace(old, new)


def with_mutant(master_nb, release_nb, function: str, old: str, new: str):
    answers = solution_sources(master_nb)
    answers[function] = mutate(answers[function], old, new)
    return fill(release_nb, answers)


def with_alternative(master_nb, release_nb, function: str, source):
    """``source`` replaces the function's cell; a dict {cell: source} replaces several cells together
    (a layer whose forward and backward share another cache layout)."""
    answers = solution_sources(master_nb)
    answers.update(source if isinstance(source, dict) else {function: source})
    return fill(release_nb, answers)


def sample_class(problem_set: str, master_nb, release_nb) -> list[tuple[str, str, bytes | None, int]]:
    """The demo's class: (student, what it is, notebook bytes, expected auto points)."""
    from autograder.registry import get_problem_set

    ps = get_problem_set(problem_set)
    # planted bugs in functions that no other graded function uses, so that exactly their points are lost
    independent = [fn for fn in ps.functions if not ps.dependents(fn.name)]
    first, second = independent[0], independent[2]
    as_bytes = lambda nb: nbformat.writes(nb).encode()
    full = full_solution(master_nb, release_nb)
    # partial: a planted bug in two functions
    answers = solution_sources(master_nb)
    for fn in (first, second):
        _, old, new = mutants(problem_set)[fn.name][0]
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
