"""The registry: one entry per graded function, one module per problem set.

Each :class:`GradedFunction` is the single source of truth for a graded function:
its signature, its points, its time budget and limits, how its test inputs are
generated, the PyTorch reference that produces the expected outputs, the tolerances used
to compare, and the known wrong conventions worth naming in the feedback. The same entry
drives the visible checks in the student's notebook, the hidden grading, the release
(points and budgets are written into it) and the self-check.

A problem set is a folder, ``autograder/problemsets/<ps>/``: its registry in
``__init__.py`` (``PROBLEM_SET``), its sandbox drivers in ``drivers.py`` (NumPy only,
copied into each grading job), and its planted bugs and correct alternatives in
``samples/`` (used by the tests and the self-check; not installed for students). What
several weeks share lives in ``problemsets/_shared/``; no problem set imports another.
Loading a problem set checks that every driver its entries name exists.
"""
from __future__ import annotations

import ast
import importlib
import math
import pkgutil
import secrets
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

VISIBLE_SEED = 0
"""Seed of the cases a student sees in the notebook. Grading draws a fresh one each run."""


def fresh_seed() -> int:
    """A grading seed nobody can predict: 63 bits from the operating system's secure source.

    The case generators are public (students install them for the visible checks), so the
    hidden cases are only as secret as their seed. Each ``autograde`` run draws one and
    records it; ``--seed`` repeats a run on purpose."""
    return secrets.randbits(63) | 1  # never the visible seed 0


@dataclass(frozen=True)
class Case:
    """One test input: a human-readable label and the positional arguments.

    ``private`` holds data the check needs that must not reach the student's process
    (held-out test data, for example); only ``args`` are sent to the sandbox.
    """

    label: str
    args: tuple
    private: tuple = ()


@dataclass(frozen=True)
class Misconception:
    """A known wrong convention: a PyTorch variant of the reference and one line saying what it is.

    When a student's failing answers match the variant's outputs, the feedback says the line,
    and nothing more of the solution (e.g. "true convolution: PyTorch's conv2d is
    cross-correlation")."""

    name: str
    reference: Callable[..., Any]
    explanation: str


@dataclass(frozen=True, kw_only=True)
class GradedFunction:
    """A function the student implements in NumPy, graded against a PyTorch reference.

    Every field is given by name: ``GradedFunction(name="predict", signature="predict(X, w, b)", ...)``.

    name:       the Python name the student defines (also the solution cell's grade_id).
    signature:  the call as the student sees it, e.g. ``"predict(X, w, b)"``.
    returns:    names of the returned values; more than one means a tuple is returned.
    points:     what the function is worth (all or nothing: every case must pass).
    make_cases: ``rng -> list[Case]``; random cases plus the edge cases.
    reference:  PyTorch implementation; receives the case's args as float64 tensors on
                the grading device (ints and floats stay Python numbers).
    rtol, atol: values pass when ``|got - expected| <= atol + rtol * |expected|`` (finite, at least 0).
    driver:     how the sandbox calls the student's function: ``"call"`` (``f(*args)``) or a driver
                of the problem set's ``drivers.py``, which gets the student's namespace.
    check:      optional ``(case, got, expected) -> message or None`` judging a result by a property
                (held-out accuracy, a drop rate): it judges the cases that carry ``private`` data, or
                every case when there is no reference; the other cases are compared with the
                reference. ``expected`` is the reference's output for the case (None without one).
    time_limit_s: wall-clock seconds for all cases of this function together.
    memory_mb, cpu_s: what this function may use, when it needs less than the course-wide
                maxima (``c.Harness.memory_mb``, ``cpu_s``); never more than them.
    misconceptions: known wrong conventions to recognise in failing answers.
    sequence:   when the output's first axis is a sequence of steps (an optimizer's trajectory), its
                name ("step"): the feedback then names the first step that departs, not the worst.
    budget_vs_master: when set, a grading run gives this function this many times the master solution's
                time on the same machine (at least ``min_budget_s``), measured by the run's control submission;
                ``time_limit_s`` is then the control run's own budget. For a speed case: slow code runs out
                of time on any machine, while a fast one is never judged against another machine's clock.
    uses:       graded functions this one calls by design (a backward pass uses its forward's cache,
                a training loop uses the loss): a bug there can cost this function too, and its
                feedback then says which of them failed their own cases.
    imports:    modules this function may import besides NumPy and the standard library (``("torch",)``): it is
                then graded in a process of its own where they exist; every other function never sees them.
    """

    name: str
    signature: str
    returns: tuple[str, ...]
    points: int
    make_cases: Callable[[np.random.Generator], list[Case]]
    reference: Callable[..., Any] | None
    rtol: float = 1e-6
    atol: float = 1e-8
    driver: str = "call"
    check: Callable[[Case, Any, Any], str | None] | None = None
    time_limit_s: float = 10.0
    memory_mb: int | None = None
    cpu_s: float | None = None
    misconceptions: tuple[Misconception, ...] = ()
    sequence: str | None = None
    uses: tuple[str, ...] = ()
    budget_vs_master: float | None = None
    min_budget_s: float = 0.5
    imports: tuple[str, ...] = ()

    def __post_init__(self):
        for what in ("rtol", "atol"):
            value = getattr(self, what)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{self.name}: {what} must be a finite number >= 0, not {value!r}")

    def judged_by_check(self, case: Case) -> bool:
        return self.check is not None and (self.reference is None or bool(case.private))

    @property
    def test_grade_id(self) -> str:
        return f"test_{self.name}"

    def cases(self, seed: int) -> list[Case]:
        """The cases for ``seed``; each function gets its own stream of random numbers."""
        rng = np.random.default_rng([seed, zlib.crc32(self.name.encode())])
        return self.make_cases(rng)


@dataclass(frozen=True)
class ProblemSet:
    name: str
    title: str
    functions: tuple[GradedFunction, ...] = field(default_factory=tuple)
    drivers_file: Path | None = None  # the problem set's sandbox drivers (set on discovery)

    def __getitem__(self, name: str) -> GradedFunction:
        for fn in self.functions:
            if fn.name == name:
                return fn
        raise KeyError(f"{self.name} has no graded function named {name!r}")

    def dependents(self, name: str) -> set[str]:
        """The graded functions that use ``name``, directly or through others."""
        found, frontier = set(), {name}
        while frontier:
            frontier = {fn.name for fn in self.functions if set(fn.uses) & frontier} - found
            found |= frontier
        return found

    @property
    def total_points(self) -> int:
        return sum(fn.points for fn in self.functions)


def _discover() -> tuple[str, ...]:
    """Every folder in autograder/problemsets/ is a problem set (found without importing it)."""
    from autograder import problemsets

    return tuple(sorted(m.name for m in pkgutil.iter_modules(problemsets.__path__)
                        if m.ispkg and not m.name.startswith("_")))


PROBLEM_SET_NAMES = _discover()

SHARED_DRIVERS_FILE = Path(__file__).parent / "sandbox" / "drivers.py"
"""The drivers every problem set shares (``call``, ``forward``, ``backward``...): sandbox code."""


def driver_names(drivers_file: Path | None) -> set[str]:
    """The names a sandbox drivers file defines: the string keys of its ``DRIVERS = {...}``.

    The file is read as text, never imported: it is sandbox code, which the trusted side does not run."""
    if drivers_file is None or not drivers_file.exists():
        return set()
    for node in ast.parse(drivers_file.read_text(), str(drivers_file)).body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
                and any(isinstance(target, ast.Name) and target.id == "DRIVERS" for target in node.targets)):
            return {key.value for key in node.value.keys if isinstance(key, ast.Constant)}
    return set()


def check_drivers(ps: ProblemSet) -> None:
    """Every entry's driver exists: ``call``, a shared driver, or one of the problem set's ``drivers.py``.

    A misspelt driver would otherwise surface only inside the sandbox, as a grading fault on every submission."""
    known = driver_names(SHARED_DRIVERS_FILE) | driver_names(ps.drivers_file) | {"call"}
    for fn in ps.functions:
        if fn.driver not in known:
            raise ValueError(f"{ps.name}: the entry {fn.name!r} names the driver {fn.driver!r}, which neither "
                             f"{ps.name}/drivers.py nor the shared sandbox drivers define "
                             f"(known: {', '.join(sorted(known))})")


def get_problem_set(name: str) -> ProblemSet:
    """The registry of problem set ``name`` (e.g. ``"ps1"``), its drivers checked."""
    if name not in PROBLEM_SET_NAMES:
        known = ", ".join(PROBLEM_SET_NAMES)
        raise KeyError(f"unknown problem set {name!r}; the course has: {known}")
    module = importlib.import_module(f"autograder.problemsets.{name}")
    ps = replace(module.PROBLEM_SET, drivers_file=Path(module.__file__).parent / "drivers.py")
    check_drivers(ps)
    return ps
