"""The checks a student runs in the notebook (the student edition's ``autograder.student.visible``).

``check("ps1", "predict", predict)`` runs your function on the visible cases and compares what it returns with the
expected outputs through the grader's own judge, in the words the grader's feedback will use. The cases, their
expected outputs and the outputs of the known mistakes were computed when your instructor published this edition
(``autograder/fixtures/<ps>.json`` and ``.npz``); the PyTorch references and the case generators stay with the
instructor. Grading draws a fresh seed each run, with the same kinds of cases. A case judged by a property (a
held-out accuracy, the statistics of a random draw) is judged at grading only: the check says how many.
It raises AssertionError when a case fails, so a failing check shows up red in the notebook.
"""
from __future__ import annotations

import copy
import importlib
import inspect
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.grading.judge import judge
from autograder.sandbox import codec
from autograder.sandbox.drivers import DRIVERS, guard_inputs

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"  # autograder/fixtures, beside student/
_loaded: dict[str, tuple[dict, dict]] = {}
_defined_in: dict[str, set] = {}   # function name -> the notebook cells (their ids) whose run defined it at top level


def _record_definitions(result) -> None:
    """IPython's post_run_cell hook: which cell defined which top-level function (the cell's id, as JupyterLab and
    nbclient send it). A cell that does not parse, or a front end that sends no id, records nothing."""
    import ast

    info = getattr(result, "info", None)
    cell_id = getattr(info, "cell_id", None)
    source = getattr(info, "raw_cell", None)
    if not cell_id or not isinstance(source, str):
        return
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):   # IPython syntax (magics): the transformed cell is not kept here
        return
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _defined_in.setdefault(node.name, set()).add(cell_id)


def _watch_definitions() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and _record_definitions not in shell.events.callbacks.get("post_run_cell", []):
        shell.events.register("post_run_cell", _record_definitions)


def redefinition_warning(name: str) -> str | None:
    """A warning when ``name`` was defined in more than one cell: this check uses the definition run last, while
    the grader takes each graded function from its own cell (as it was right after that cell ran)."""
    cells = _defined_in.get(name, set())
    if len(cells) < 2:
        return None
    return (f"warning: {name} is defined in {len(cells)} cells of this notebook. This check used the definition you "
            f"ran last; the grader uses the one in {name}'s own cell (the solution cell under its heading), as it was "
            f"right after that cell ran. Give the other definition another name, or the grade may differ from this "
            f"check.")


_watch_definitions()


@dataclass(frozen=True)
class Known:
    """A known mistake: its name and the line the feedback says."""

    name: str
    explanation: str


@dataclass(frozen=True)
class Case:
    label: str
    args: tuple


@dataclass(frozen=True)
class Entry:
    """What the judge needs of a graded function (the instructor's registry entry without its reference)."""

    name: str
    points: int
    returns: tuple
    rtol: float
    atol: float
    sequence: str | None
    misconceptions: tuple
    check = None

    @staticmethod
    def judged_by_check(case) -> bool:
        return False


def _fixture(problem_set: str) -> tuple[dict, dict]:
    if problem_set not in _loaded:
        path = FIXTURES / f"{problem_set}.json"
        if not path.exists():
            raise AssertionError(f"this edition has no visible cases for {problem_set!r}")
        with np.load(FIXTURES / f"{problem_set}.npz", allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        _loaded[problem_set] = (json.loads(path.read_text()), arrays)
    return _loaded[problem_set]


def driver_for(problem_set: str, name: str):
    """The same driver the grader uses: a shared one, or one of the problem set's drivers.py."""
    if name in DRIVERS:
        return DRIVERS[name]
    return importlib.import_module(f"autograder.problemsets.{problem_set}.drivers").DRIVERS[name]


def may_change_for(problem_set: str) -> dict:
    """The arguments a problem set's drivers check themselves ({function: (argument, ...)}), as the grader reads them."""
    try:
        return getattr(importlib.import_module(f"autograder.problemsets.{problem_set}.drivers"), "MAY_CHANGE", {})
    except ImportError:
        return {}


def prepared_namespace(problem_set: str, name: str, function, namespace: dict, signatures: dict[str, str]) -> dict:
    """The notebook's namespace with ``function`` as ``name``, every graded function in it guarded against changing
    its inputs in place, as the grader's sandbox does; says first when ``name`` was defined in more than one cell."""
    if not callable(function):
        raise AssertionError(f"{name} is not a function")
    warning = redefinition_warning(name)
    if warning:
        print(warning)
    return guard_inputs({**namespace, name: function}, signatures, may_change_for(problem_set))


def run_cases(drive, namespace: dict, name: str, cases) -> list[dict]:
    """Call the student's ``name`` through its driver on a copy of each case's arguments: one ``{"value": ...}``
    or ``{"error": ...}`` per case, as the sandbox reports them."""
    outcomes = []
    for case in cases:
        try:
            outcomes.append({"value": drive(namespace, name, copy.deepcopy(list(case.args)))})
        except NotImplementedError:
            raise AssertionError(f"{name} is not implemented yet") from None
        except Exception as error:  # report, then go on with the other cases
            outcomes.append({"error": f"{type(error).__name__}: {error}"})
    return outcomes


def check(problem_set: str, name: str, function, namespace: dict | None = None) -> None:
    """Check ``function`` on the visible cases. ``namespace`` (default: the caller's globals, i.e. the notebook's)
    is where drivers find your other functions (a backward pass's forward)."""
    document, arrays = _fixture(problem_set)
    if name not in document["functions"]:
        raise AssertionError(f"{problem_set} has no graded function named {name!r}")
    spec = document["functions"][name]
    if namespace is None:
        caller = inspect.currentframe().f_back
        namespace = caller.f_globals if caller else {}
    signatures = {n: f["signature"] for n, f in document["functions"].items()}
    namespace = prepared_namespace(problem_set, name, function, namespace, signatures)
    entry = Entry(name, spec["points"], tuple(spec["returns"]), spec["rtol"], spec["atol"], spec["sequence"],
                  tuple(Known(n, e) for n, e in spec["misconceptions"]))
    cases = [Case(item["label"], codec.decode(item["args"], arrays)) for item in spec["cases"]]
    outcomes = run_cases(driver_for(problem_set, spec["driver"]), namespace, name, cases)
    expected = [codec.decode(item["expected"], arrays) for item in spec["cases"]]
    variants = {n: [None if item["variants"][n] is None else codec.decode(item["variants"][n], arrays)
                    for item in spec["cases"]] for n, _ in spec["misconceptions"]}
    later = spec["judged_at_grading"]
    if not cases:
        print(f"{name}: its {later} case(s) are judged at grading only ({spec['property']}); none can be checked here.")
        return
    verdict = judge(entry, cases, expected, outcomes, variants=variants, what="visible cases")
    if not verdict.passed:
        raise AssertionError("\n".join(verdict.messages))
    print(verdict.messages[0] + (f" ({later} more judged at grading only: {spec['property']})" if later else ""))
