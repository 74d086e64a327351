"""Self-check: the registry's references against the masters, through the real harness.

For each problem set and each seed (the visible one and fresh random ones, since every
grading run draws its own): the master's solutions score full marks, the untouched
release scores 0, every planted bug loses exactly its own function's points, and every
correct alternative keeps full marks. An honest submission's score must not depend on
the seed. The references run on CUDA when there is one (``AUTOGRADER_DEVICE`` forces a
device).

``--device cuda`` checks the references on the GPU against the CPU: every problem set is checked twice at the
same seeds, once with the references on the CPU and once on CUDA, and it reports whether every verdict (the
master, the release, each planted bug, each alternative, function by function) is the same, and the largest
difference between the two devices' expected outputs, per function. On CUDA the references run with
deterministic algorithms (``torch.use_deterministic_algorithms``, ``CUBLAS_WORKSPACE_CONFIG=:4096:8``) and without
TF32, so that a rerun gives the same numbers.
"""
from __future__ import annotations

import contextlib
import os
import time

import nbformat
import numpy as np

from autograder.authoring import samples
from autograder.config import Course
from autograder.grading.references import reference_device
from autograder.grading.grader import Grader
from autograder.grading.notebooks import program_cells
from autograder.registry import VISIBLE_SEED, fresh_seed, get_problem_set


def check_problem_set(course: Course, name: str, seed: int, log=print, record: dict | None = None) -> list[str]:
    """Problems found (empty when everything holds). ``record``, when given, receives each submission's verdicts
    ({label: {function: passed}}) under "verdicts" and the expected outputs under "expected"."""
    ps = get_problem_set(name)
    master = nbformat.read(course.master(name), as_version=4)
    release = nbformat.read(course.released(name), as_version=4)
    failures = []
    started = time.perf_counter()
    with Grader(ps, seed, course.limits) as grader:
        log(f"{name} (seed {seed}): references for {sum(len(c) for c in grader.cases.values())} hidden cases "
            f"in {time.perf_counter() - started:.2f} s")
        verdicts = {}

        def grade(label, nb):
            result = grader.grade(program_cells(master, nb))
            verdicts[label] = {n: r.passed for n, r in result.functions.items()}
            return result

        if record is not None:
            record["expected"] = grader.expected
            record["verdicts"] = verdicts
        full = grade("master", samples.full_solution(master, release))
        if full.score != ps.total_points:
            failing = [m for r in full.functions.values() if not r.passed for m in r.messages]
            failures.append(f"{name} (seed {seed}): master scores {full.score}/{ps.total_points}: " + " | ".join(failing))
        blank = grade("release", release)
        if blank.score != 0:
            failures.append(f"{name} (seed {seed}): the untouched release scores {blank.score}")
        if any("not defined" in m for r in blank.functions.values() for m in r.messages):
            failures.append(f"{name}: the release does not define every graded function")
        n_mutants = n_alternatives = 0
        for function, bugs in samples.mutants(name).items():
            for description, old, new in bugs:
                n_mutants += 1
                result = grade(f"bug {function}: {description}", samples.with_mutant(master, release, function, old, new))
                lost = {n for n, r in result.functions.items() if not r.passed}
                # it must cost its own function, and nothing beyond the functions that use it by design
                if function not in lost or lost - {function} - ps.dependents(function):
                    failures.append(f"{name} (seed {seed}): planted bug '{description}' in {function} lost {sorted(lost) or 'nothing'}")
        for function, alternatives in samples.alternatives(name).items():
            for description, source in alternatives:
                n_alternatives += 1
                result = grade(f"alternative {function}: {description}",
                               samples.with_alternative(master, release, function, source))
                if result.score != ps.total_points:
                    messages = result.functions[function].messages
                    failures.append(f"{name} (seed {seed}): correct alternative '{description}' of {function} lost points: "
                                    + " | ".join(messages))
    log(f"{name} (seed {seed}): master {full.score}/{ps.total_points}, release {blank.score}, {n_mutants} planted bugs, "
        f"{n_alternatives} alternatives checked in {time.perf_counter() - started:.1f} s "
        f"({full.seconds:.2f} s per submission)")
    return failures


def selfcheck(problem_sets, seeds: list[int] | None = None, random_seeds: int = 3, log=print) -> bool:
    """Check every problem set at ``seeds`` (default: the visible seed and ``random_seeds`` fresh ones)."""
    course = Course.load()
    seeds = list(seeds) if seeds else [VISIBLE_SEED] + [fresh_seed() for _ in range(random_seeds)]
    log(f"references on {reference_device()} (float64, TF32 off); seeds {', '.join(map(str, seeds))} "
        f"(repeat with --seed)")
    failures = []
    for name in problem_sets:
        for seed in seeds:
            failures += check_problem_set(course, name, seed, log)
    for line in failures:
        log(f"PROBLEM: {line}")
    log("self-check passed" if not failures else f"self-check FAILED: {len(failures)} problem(s)")
    return not failures


@contextlib.contextmanager
def references_on(device: str):
    """Run the references on ``device`` ("cpu" or "cuda") inside the block; on CUDA, deterministically."""
    import torch

    saved = {k: os.environ.get(k) for k in ("AUTOGRADER_DEVICE", "CUBLAS_WORKSPACE_CONFIG")}
    deterministic = torch.are_deterministic_algorithms_enabled()
    os.environ["AUTOGRADER_DEVICE"] = device
    if device == "cuda":
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"   # what deterministic cuBLAS needs
        torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _flat(value) -> np.ndarray:
    """Every number of a (nested) output, as one float64 vector."""
    if isinstance(value, dict):
        return np.concatenate([_flat(value[k]) for k in sorted(value)] or [np.zeros(0)])
    if isinstance(value, (tuple, list)):
        return np.concatenate([_flat(v) for v in value] or [np.zeros(0)])
    if value is None:
        return np.zeros(0)
    return np.asarray(value, dtype=np.float64).ravel()


def largest_differences(cpu: dict, other: dict) -> dict[str, float]:
    """{function: the largest absolute difference between the two devices' expected outputs over its cases}."""
    found = {}
    for name, cases in cpu.items():
        worst = 0.0
        for a, b in zip(cases, other[name]):
            fa, fb = _flat(a), _flat(b)
            if fa.shape != fb.shape:
                worst = float("inf")
                break
            both = np.isfinite(fa) & np.isfinite(fb)
            if (np.isfinite(fa) != np.isfinite(fb)).any():
                worst = float("inf")
                break
            if both.any():
                worst = max(worst, float(np.max(np.abs(fa[both] - fb[both]))))
        found[name] = worst
    return found


def compare_devices(problem_sets, seeds: list[int] | None = None, random_seeds: int = 1, device: str = "cuda",
                    log=print) -> bool:
    """The self-check on the CPU and on ``device`` at the same seeds: every verdict must be the same on both; prints
    the largest difference between the devices' expected outputs, per function. ``device="cpu"`` compares the CPU
    with itself (what the test suite does where there is no GPU)."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        log("selfcheck --device cuda: torch sees no CUDA device on this machine (torch.cuda.is_available() is "
            f"False; torch {torch.__version__}, built with CUDA {torch.version.cuda}). Run it on the grading machine "
            "that has the GPU; the references then run there.")
        return False
    course = Course.load()
    seeds = list(seeds) if seeds else [VISIBLE_SEED] + [fresh_seed() for _ in range(random_seeds)]
    name_of = torch.cuda.get_device_name(0) if device == "cuda" else "the CPU again"
    log(f"references on the CPU, then on {device} ({name_of}), float64, TF32 off, deterministic; "
        f"seeds {', '.join(map(str, seeds))}")
    failures = []
    for name in problem_sets:
        for seed in seeds:
            runs = {}
            for where in ("cpu", device):
                record: dict = {}
                with references_on(where):
                    found = check_problem_set(course, name, seed, log=lambda line: None, record=record)
                runs[where] = (found, record)
            (cpu_failures, cpu), (dev_failures, dev) = runs["cpu"], runs[device]
            failures += [f"on the CPU: {p}" for p in cpu_failures] + [f"on {device}: {p}" for p in dev_failures]
            changed = [f"{label}: {fn} {'passed' if ok else 'failed'} on the CPU"
                       for label, row in cpu["verdicts"].items() for fn, ok in row.items()
                       if dev["verdicts"].get(label, {}).get(fn) != ok]
            failures += [f"{name} (seed {seed}): verdict differs between the devices: {line}" for line in changed]
            differences = largest_differences(cpu["expected"], dev["expected"])
            log(f"{name} (seed {seed}): {len(cpu['verdicts'])} submissions, "
                f"{'every verdict the same on both devices' if not changed else f'{len(changed)} verdict(s) differ'}; "
                "largest |cpu - " + device + "| of the expected outputs: "
                + ", ".join(f"{fn} {d:.1e}" for fn, d in differences.items()))
    for line in failures:
        log(f"PROBLEM: {line}")
    log(f"device check passed: the verdicts on {device} are the CPU's" if not failures
        else f"device check FAILED: {len(failures)} problem(s)")
    return not failures
