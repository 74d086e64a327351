"""Which lecture code earns a graded function's points: the guard behind tests/test_lecture_guard.py.

    python tests/lecture_guard.py course/*.ipynb          (prints one JSON object)

For each lecture, the definitions of its code cells (imports, functions, classes, constant assignments; never its
experiments) are run as the grader runs the cells a student adds. Then every function the lecture defines whose
arguments fit a graded function's signature is put through that graded function's visible check, under the graded
name, with the lecture's other definitions beside it: the same cases, drivers, PyTorch references and judge as
``check()``. A backward pass is tried after each of the lecture's forward passes that passed its own check (or, when
none did, after each lecture function named like a forward pass), as a student pasting both would. Each try gets a
few seconds of CPU.

Prints ``{"passes": [[lecture, function, problem set, graded function], ...], "names": [[lecture, graded name],
...]}``: lecture functions that pass a visible check, whatever their name, and lectures that define a function
under a graded function's own name.
"""
from __future__ import annotations

import copy
import inspect
import json
import signal
import sys
import warnings
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from autograder.grading.references import run_reference, run_variant  # noqa: E402
from autograder.grading.judge import judge  # noqa: E402
from autograder.grading.notebooks import added_definitions  # noqa: E402
from autograder.registry import PROBLEM_SET_NAMES, VISIBLE_SEED, get_problem_set  # noqa: E402
from autograder.student.visible import driver_for  # noqa: E402

TRY_S = 4  # CPU seconds for one candidate on one graded function's visible cases


class OutOfTime(Exception):
    pass


def _alarm(signum, frame):
    raise OutOfTime()


def definitions(path: Path) -> dict:
    """The namespace left by the lecture's definitions, run cell by cell, each statement guarded."""
    namespace = {"__name__": f"lecture_{path.stem}"}
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        source, _ = added_definitions(cell.source)
        signal.setitimer(signal.ITIMER_PROF, 10)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(source, f"<{path.stem} cell {index}>", "exec"), namespace)
        except BaseException:
            pass
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
    return namespace


def lecture_functions(namespace: dict, path: Path) -> dict:
    """{name: function} of the functions the lecture itself defines."""
    return {name: value for name, value in namespace.items()
            if inspect.isfunction(value) and value.__code__.co_filename.startswith(f"<{path.stem} cell")}


def fits(function, signature: str) -> bool:
    """Whether ``function`` can be called with the graded signature's positional arguments."""
    wanted = len([p for p in signature[signature.index("(") + 1:-1].split(",") if p.strip()])
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return True
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    return len(required) <= wanted <= len(positional)


class Graded:
    """One graded function's visible cases, expected outputs and known mistakes, computed once."""

    def __init__(self, problem_set: str, fn):
        self.problem_set, self.fn = problem_set, fn
        self.cases = fn.cases(VISIBLE_SEED)
        self.expected = [None if fn.reference is None else run_reference(fn, case) for case in self.cases]
        self.variants = {m.name: [None if fn.judged_by_check(case) else run_variant(m, case) for case in self.cases]
                         for m in fn.misconceptions}
        self.drive = driver_for(problem_set, fn.driver)

    def passes(self, namespace: dict, candidate) -> bool:
        namespace = {**namespace, self.fn.name: candidate}
        outcomes = []
        signal.setitimer(signal.ITIMER_PROF, TRY_S)
        try:
            for case in self.cases:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        outcomes.append({"value": self.drive(namespace, self.fn.name, copy.deepcopy(list(case.args)))})
                except OutOfTime:
                    return False
                except BaseException as error:
                    if isinstance(error, (KeyboardInterrupt, SystemExit)):
                        return False
                    outcomes.append({"error": f"{type(error).__name__}: {error}"})
                    return False  # all or nothing: one failing case is enough
        except OutOfTime:
            return False
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        try:
            return judge(self.fn, self.cases, self.expected, outcomes, variants=self.variants).passed
        except Exception:
            return False


def scan(paths: list[Path]) -> dict:
    signal.signal(signal.SIGPROF, _alarm)
    graded = [Graded(ps, fn) for ps in PROBLEM_SET_NAMES for fn in get_problem_set(ps).functions]
    names = {g.fn.name for g in graded}
    passes, defined = [], []
    for path in paths:
        namespace = definitions(path)
        functions = lecture_functions(namespace, path)
        defined += [[path.name, name] for name in sorted(functions) if name in names]
        passed_forwards: dict[str, list] = {}
        ordered = sorted(graded, key=lambda g: g.fn.name.endswith("_backward"))  # forwards first
        for g in ordered:
            fn = g.fn
            pairs = [(name, function, {}) for name, function in functions.items() if fits(function, fn.signature)]
            if fn.driver == "backward":
                forward = fn.name.rsplit("_", 1)[0] + "_forward"
                partners = passed_forwards.get(forward) or [
                    f for name, f in functions.items() if "forward" in name]
                pairs = [(name, function, {forward: partner}) for name, function, _ in pairs for partner in partners]
            found = set()
            for name, function, extra in pairs:
                if name in found:
                    continue
                if g.passes({**namespace, **extra}, function):
                    found.add(name)
                    passes.append([path.name, name, g.problem_set, fn.name])
                    passed_forwards.setdefault(fn.name, []).append(function)
    return {"passes": passes, "names": defined}


if __name__ == "__main__":
    print(json.dumps(scan([Path(p) for p in sys.argv[1:]])))
