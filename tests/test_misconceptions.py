"""Known wrong conventions: each is named for the planted bug that makes it, and for nothing else.

A misconception (``GradedFunction.misconceptions``) is a PyTorch variant of the reference. When every
failing case of a student matches it, the feedback adds one line naming the convention. These tests
grade the planted bugs of ``samples/`` through the real sandbox and the visible ``check()``, with
fresh grading seeds (each run draws its own; the seed is in every assertion message).
"""
from __future__ import annotations

import numpy as np
import pytest

from autograder.authoring import samples
from autograder.grading.references import run_reference, run_variant
from autograder.grading.compare import compare_outputs
from autograder.grading.grader import Grader
from autograder.grading.notebooks import program_cells
from autograder.registry import PROBLEM_SET_NAMES, VISIBLE_SEED, fresh_seed, get_problem_set
from autograder.student.visible import check

HINT = "Your answers match a known mistake: "

# the same convention made another way, with no planted bug in samples/: the bug is written here
SOFTMAX_OLD = """    shifted = scores - np.max(scores, axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=1, keepdims=True)"""
SOFTMAX_NEW = SOFTMAX_OLD.replace("axis=1", "axis=0")
EXTRA = {
    ("ps2", "softmax"): [samples.Bug("softmax over columns, shifted per column", SOFTMAX_OLD, SOFTMAX_NEW,
                                     misconception="over_columns")],
}


def planted_bugs(ps: str, function: str) -> list[samples.Bug]:
    """Every planted bug of a function: its samples' and the ones written here."""
    return samples.mutants(ps).get(function, []) + EXTRA.get((ps, function), [])


def bugs_naming_a_misconception() -> dict[tuple[str, str, str], list[samples.Bug]]:
    """(problem set, function, misconception) -> the planted bugs that say they make it."""
    found = {}
    for ps in PROBLEM_SET_NAMES:
        for function in {*samples.mutants(ps), *(f for p, f in EXTRA if p == ps)}:
            for planted in planted_bugs(ps, function):
                if planted.misconception:
                    found.setdefault((ps, function, planted.misconception), []).append(planted)
    return found


NAMED = bugs_naming_a_misconception()
# each misconception with its first planted bug (test_no_explanation_that_does_not_apply grades any other one)
ALL = {key: bugs[0] for key, bugs in NAMED.items()}
FUNCTIONS = sorted({(ps, fn) for ps, fn, _ in ALL})


def explanation(ps: str, function: str, name: str) -> str:
    return next(m.explanation for m in get_problem_set(ps)[function].misconceptions if m.name == name)


def expected_hint(ps: str, function: str, planted: samples.Bug) -> str | None:
    """The explanation a planted bug must get: its own misconception's, or none."""
    return explanation(ps, function, planted.misconception) if planted.misconception else None


def hints(messages: list[str]) -> list[str]:
    return [m[len(HINT):] for m in messages if m.startswith(HINT)]


class Graded:
    """One grader per problem set, with a fresh seed; each submission graded once, for its function only."""

    def __init__(self, notebooks):
        self.notebooks, self.graders, self.results = notebooks, {}, {}

    def grader(self, ps: str) -> Grader:
        if ps not in self.graders:
            self.graders[ps] = Grader(get_problem_set(ps), fresh_seed())
        return self.graders[ps]

    def seed(self, ps: str) -> int:
        return self.grader(ps).seed

    def mutant(self, ps: str, function: str, planted: samples.Bug) -> list[str]:
        key = (ps, function, planted.description)
        if key not in self.results:
            master, release = self.notebooks[ps]
            nb = samples.with_mutant(master, release, function, planted.old, planted.new)
            result = self.grader(ps).grade(program_cells(master, nb), only=[function]).functions[function]
            assert not result.passed, (f"{ps}.{function}: planted bug {planted.description!r} passed "
                                       f"(seed {self.seed(ps)})")
            self.results[key] = result.messages
        return self.results[key]

    def master(self, ps: str):
        if (ps, None) not in self.results:
            master, release = self.notebooks[ps]
            functions = sorted({fn for p, fn in FUNCTIONS if p == ps})
            self.results[(ps, None)] = self.grader(ps).grade(
                program_cells(master, samples.full_solution(master, release)), only=functions).functions
        return self.results[(ps, None)]

    def close(self):
        for grader in self.graders.values():
            grader.close()


@pytest.fixture(scope="module")
def graded(notebooks):
    state = Graded(notebooks)
    yield state
    state.close()


def test_every_misconception_has_a_bug_that_makes_it(notebooks):
    registered = {(ps, fn.name, m.name) for ps in PROBLEM_SET_NAMES for fn in get_problem_set(ps).functions
                  for m in fn.misconceptions}
    assert registered - set(ALL) == set(), "every misconception needs the planted bug that shows it firing"
    assert set(ALL) - registered == set(), "a planted bug names a misconception its function does not have"
    assert all(sum(ps == name for ps, _, _ in registered) >= 2 for name in PROBLEM_SET_NAMES)
    for ps, function, name in registered:
        fn = get_problem_set(ps)[function]
        assert len({m.name for m in fn.misconceptions}) == len(fn.misconceptions), function
        master, _ = notebooks[ps]
        samples.mutate(samples.solution_sources(master)[function], ALL[(ps, function, name)].old,
                       ALL[(ps, function, name)].new)  # the planted bug applies to the master


@pytest.mark.parametrize("key", sorted(ALL), ids=lambda k: "-".join(k))
def test_explanation_names_the_convention_only(key):
    text = explanation(*key)
    assert text and "\n" not in text and len(text) <= 120, text
    for leak in ("torch", "reference", "np.", "return", "def ", "==", "**", "[", "config"):
        assert leak not in text, f"{key}: {leak!r} in {text!r}"


@pytest.mark.parametrize("key", sorted(ALL), ids=lambda k: "-".join(k))
def test_planted_bug_gets_its_explanation(graded, key):
    ps, function, name = key
    messages = graded.mutant(ps, function, ALL[key])
    assert hints(messages) == [explanation(*key)], (f"{ps}.{function}: bug {ALL[key].description!r} at seed "
                                                   f"{graded.seed(ps)}: {messages}")


@pytest.mark.parametrize("ps, function", FUNCTIONS, ids=lambda v: v)
def test_no_explanation_that_does_not_apply(graded, ps, function):
    """The master gets none; every other planted bug of the function gets none, or exactly its own."""
    seed = graded.seed(ps)
    master = graded.master(ps)[function]
    assert master.passed and not hints(master.messages), (seed, master.messages)
    unrelated = 0
    for planted in planted_bugs(ps, function):
        want = expected_hint(ps, function, planted)
        unrelated += want is None
        messages = graded.mutant(ps, function, planted)
        assert hints(messages) == ([want] if want else []), (
            f"{ps}.{function}: bug {planted.description!r} at seed {seed} got {hints(messages)}, expected {want!r}")
    assert unrelated, f"{ps}.{function} has no planted bug unrelated to its misconceptions"


@pytest.mark.parametrize("seed", [VISIBLE_SEED, 1, 2024, fresh_seed(), fresh_seed()],
                         ids=["visible", "1", "2024", "fresh", "another_fresh"])
@pytest.mark.parametrize("key", sorted(ALL), ids=lambda k: "-".join(k))
def test_variant_differs_from_the_reference(key, seed):
    """Otherwise a correct answer could be told it matches a known mistake."""
    ps, function, name = key
    fn = get_problem_set(ps)[function]
    misconception = next(m for m in fn.misconceptions if m.name == name)
    cases = fn.cases(seed)
    outputs = [run_variant(misconception, case) for case in cases]  # None where the variant raised
    undefined = [case.label for case, output in zip(cases, outputs) if output is None]
    # undefined where the wrong convention itself cannot run (one-sided padding leaves a kernel larger than the
    # input): there a student's code must fail too for the hint to be given; it must be defined elsewhere
    allowed = {"a kernel as large as the padded input (4 x 5, padding 1, kernel 6 x 7): a 1 x 1 output"}
    assert set(undefined) <= allowed, f"{ps}.{function}: variant {name} raises on {undefined} at seed {seed}"
    differ = [case.label for case, output in zip(cases, outputs)
              if compare_outputs(fn.returns, run_reference(fn, case), output, fn.rtol, fn.atol) is not None]
    assert differ, f"{ps}.{function}: variant {name} equals the reference on every case at seed {seed}"


def master_namespace(notebooks, ps: str) -> dict:
    """Every solution of the master, run in order: the other functions a driver may call (a forward)."""
    master, _ = notebooks[ps]
    namespace = {"np": np}
    for cell in program_cells(master, master):  # the provided cells (week 3's layers in ps4) and the solutions
        exec(compile(cell.source, f"<{ps} master {cell.id}>", "exec"), namespace)
    return namespace


def mutated_function(notebooks, ps: str, function: str, planted: samples.Bug):
    """(the function with the planted bug, the namespace it was defined in)."""
    master, _ = notebooks[ps]
    source = samples.mutate(samples.solution_sources(master)[function], planted.old, planted.new)
    namespace = master_namespace(notebooks, ps)
    exec(compile(source, f"<{ps}.{function}: {planted.description}>", "exec"), namespace)
    return namespace[function], namespace


@pytest.mark.parametrize("seed", [VISIBLE_SEED, fresh_seed()], ids=["visible", "fresh"])
@pytest.mark.parametrize("key", sorted(ALL), ids=lambda k: "-".join(k))
def test_visible_check_names_the_same_mistake(notebooks, key, seed):
    ps, function, name = key
    with pytest.raises(AssertionError) as failed:
        mutated, namespace = mutated_function(notebooks, ps, function, ALL[key])
        check(ps, function, mutated, seed=seed, namespace=namespace)
    assert hints(str(failed.value).split("\n")) == [explanation(*key)], (seed, str(failed.value))


@pytest.mark.parametrize("ps, function", FUNCTIONS, ids=lambda v: v)
def test_visible_check_of_the_master_names_no_mistake(notebooks, capsys, ps, function):
    namespace = master_namespace(notebooks, ps)
    check(ps, function, namespace[function], namespace=namespace)
    assert "passed" in capsys.readouterr().out
