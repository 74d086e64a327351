"""Grading throughput: plain `nbgrader autograde` against the harness at 1 and 2 local jobs and on a 2-worker Dask
LocalCluster, on the same class, in one run.

    make bench-grading        (or: .venv/bin/python benchmarks/grading_bench.py [--n 40] [--ps ps1])

The class is N submissions of one problem set: 40 % the full solution, 30 % a planted bug in one function, 15 % the
untouched release, 15 % a function that raises. Each way of grading gets a fresh copy of the course with the same
submissions; the times are wall-clock seconds for the whole command (for the harness: the control run and the
references included, as an instructor would see them). It prints seconds per submission, the ratios, and the
harness's own time per submission beyond the graded functions' time in the sandbox (from each submission's
report: its sandbox seconds minus the functions' own seconds).

A speed is printed only for grades that were made: each way of grading with the harness must give every student
the same points per function as the local pool at one job, with no grader fault, and plain nbgrader must grade
every notebook. A way that does not gets no figure, the reason instead, and the benchmark exits non-zero.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from autograder import instructor
from autograder.authoring import samples# noqa: E402
from autograder.config import Course  # noqa: E402
from autograder.registry import get_problem_set  # noqa: E402

BIN = Path(sys.executable).parent


def make_class(ps_name: str, n: int) -> list[tuple[str, object]]:
    """(student, notebook) for n students: full, buggy, blank and raising in the proportions above."""
    master = nbformat.read(REPO / "solutions" / ps_name / f"{ps_name}.ipynb", as_version=4)
    release = nbformat.read(REPO / "assignments" / ps_name / f"{ps_name}.ipynb", as_version=4)
    ps = get_problem_set(ps_name)
    mutants = samples.mutants(ps_name)
    names = [fn.name for fn in ps.functions if mutants.get(fn.name)]
    full = samples.full_solution(master, release)
    notebooks = []
    for i in range(n):
        kind = i % 20
        if kind < 8:
            notebooks.append(full)
        elif kind < 14:
            name = names[i % len(names)]
            notebooks.append(samples.with_mutant(master, release, name, *mutants[name][0][1:]))
        elif kind < 17:
            notebooks.append(release)
        else:
            answers = samples.solution_sources(master)
            fn = ps.functions[i % len(ps.functions)]
            answers[fn.name] = f"def {fn.signature}:\n    raise ValueError('shapes do not match')\n"
            notebooks.append(samples.fill(release, answers))
    return [(f"s{i:03d}", nb) for i, nb in enumerate(notebooks)]


def with_hidden_tests(master, ps_name: str):
    """A copy of the master whose graded functions' test cells hold a hidden-tests block, for plain nbgrader autograde.

    The harness grades from the registry and never runs a test cell, so the masters hold none: each test cell is a
    placeholder that ``release`` writes from the registry (autograder/instructor/release_plugin.py). nbgrader's own
    autograde runs the test cells its gradebook stored at release, so for it the block is written here: the release
    plugin keeps it after the visible check, nbgrader stores both in the gradebook and strips the block from the
    student's version (which stays the committed release). nbgrader then checks the visible cases and the same
    kinds of cases at a fresh seed, as the harness grades."""
    from autograder.instructor.release_plugin import PLACEHOLDER

    nb = nbformat.from_dict(json.loads(json.dumps(master)))
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in nb.cells}
    for fn in get_problem_set(ps_name).functions:
        cell = cells[fn.test_grade_id]
        cell.source = "\n".join([
            PLACEHOLDER, "### BEGIN HIDDEN TESTS",
            "# nbgrader's own autograde runs this (benchmarks/grading_bench.py): hidden cases of the same kinds, "
            "drawn with a fresh seed",
            "from autograder.registry import fresh_seed",
            f'check("{ps_name}", "{fn.name}", {fn.name}, seed=fresh_seed())',
            "### END HIDDEN TESTS"])
    return nb


def fresh_course(base: Path, name: str, ps_name: str, students, hidden_tests: bool = False) -> Course:
    """A copy of the course with the class submitted, ``ps_name`` released from its masters; ``hidden_tests``:
    with the hidden tests that plain nbgrader autograde runs (see :func:`with_hidden_tests`)."""
    root = base / name
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions", root / "solutions")
    shutil.copytree(REPO / "assignments", root / "assignments")
    course = Course.load(root)
    if hidden_tests:
        nbformat.write(with_hidden_tests(nbformat.read(course.master(ps_name), as_version=4), ps_name),
                       course.master(ps_name))
    instructor.release(course, ps_name)
    for student, notebook in students:
        folder = course.submitted / student / ps_name
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{ps_name}.ipynb")
    return course


def timed(label: str, run) -> tuple[float, object]:
    print(f"  {label} ...", end="", flush=True)
    started = time.perf_counter()
    value = run()
    seconds = time.perf_counter() - started
    print(f" {seconds:.1f} s")
    return seconds, value


def grades(run) -> dict[str, dict[str, int] | None]:
    """{student: {function: points}} of an autograde run (None: the notebook could not be read)."""
    return {student: None if result is None else {name: r.score for name, r in result.functions.items()}
            for student, result in run.items()}


def disagreement(run, reference: dict, n: int) -> str | None:
    """Why a harness run's grades cannot be timed: grader faults, or grades that differ from ``reference``'s."""
    if run.grader_errors:
        student, error = next(iter(sorted(run.grader_errors.items())))
        return (f"{len(run.grader_errors)} of {n} submissions were grader faults (first, {student}: "
                f"{error.splitlines()[0][:300]})")
    mine = grades(run)
    differing = sorted(s for s in set(mine) | set(reference) if mine.get(s) != reference.get(s))
    if differing:
        s = differing[0]
        return (f"{len(differing)} of {n} students got other grades than on the local pool at one job "
                f"(first, {s}: {mine.get(s)} against {reference.get(s)})")
    return None


class Phases:
    """A log callback that notes when the harness starts running the class (after its control run and references)."""

    def __init__(self):
        self.started = time.perf_counter()
        self.class_from = None

    def __call__(self, line: str) -> None:
        if self.class_from is None and str(line).startswith("running submissions on"):
            self.class_from = time.perf_counter()

    def class_seconds(self) -> float:
        return time.perf_counter() - self.class_from


def overhead(course: Course, ps_name: str) -> tuple[float, float]:
    """Mean sandbox seconds per submission and mean seconds beyond the graded functions' own."""
    totals, beyond = [], []
    for path in course.autograded.glob(f"*/{ps_name}/autograder_report.json"):
        report = json.loads(path.read_text())
        if "seconds" in report and report.get("functions"):
            totals.append(report["seconds"])
            beyond.append(report["seconds"] - sum(report.get("function_seconds", {}).values()))
    if not totals:
        return float("nan"), float("nan")
    return statistics.mean(totals), statistics.mean(beyond)


def warm(ps_name: str) -> None:
    import autograder.grading.executors  # noqa: F401
    from autograder.registry import get_problem_set

    get_problem_set(ps_name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40, help="submissions in the class (default 40)")
    parser.add_argument("--ps", default="ps1", help="the problem set (default ps1)")
    args = parser.parse_args()
    # the class is the course's own samples: graded even where the sandbox could read the masters (no bubblewrap)
    os.environ.setdefault("AUTOGRADER_TRUSTED_SUBMISSIONS", "1")
    from distributed import Client, LocalCluster

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, "
          f"Python {platform.python_version()}; {args.n} submissions of {args.ps}")
    students = make_class(args.ps, args.n)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    results, refused = {}, {}
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        base = Path(tmp)
        course = fresh_course(base, "nbgrader", args.ps, students, hidden_tests=True)

        def plain():
            run = subprocess.run([str(BIN / "nbgrader"), "autograde", args.ps, "--force"], cwd=course.root, env=env,
                                 capture_output=True, text=True)
            graded = len(list(course.autograded.glob(f"*/{args.ps}/{args.ps}.ipynb")))
            if graded != args.n:
                return f"nbgrader autograde graded {graded} of {args.n} notebooks: {run.stderr[-500:].strip()}"
            return None

        label = "nbgrader autograde"
        results[label], wrong = timed("plain nbgrader autograde (one kernel per notebook)", plain)
        if wrong:
            refused[label] = wrong
        class_only, reference = {}, None
        for jobs in (1, 2):
            course = fresh_course(base, f"harness{jobs}", args.ps, students)
            phases = Phases()
            label = f"harness, {jobs} job(s)"
            results[label], run = timed(
                f"harness, {jobs} local job(s)", lambda: instructor.autograde(course, args.ps, jobs=jobs, log=phases))
            class_only[label] = phases.class_seconds()
            if jobs == 1:
                sandbox_s, beyond_s = overhead(course, args.ps)
                reference = grades(run)
                if run.grader_errors:
                    refused[label] = disagreement(run, reference, args.n)
            elif disagreement(run, reference, args.n):
                refused[label] = disagreement(run, reference, args.n)
        course = fresh_course(base, "dask", args.ps, students)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
                Client(cluster, set_as_default=False) as client:
            # warm workers, as in a cluster that has graded before: the problem set's modules (and torch) imported
            client.run(warm, args.ps)
            phases = Phases()
            label = "harness on Dask, 2 workers"
            results[label], run = timed(
                "harness on a 2-worker Dask LocalCluster",
                lambda: instructor.autograde(course, args.ps, log=phases, scheduler=client))
            class_only[label] = phases.class_seconds()
            if disagreement(run, reference, args.n):
                refused[label] = disagreement(run, reference, args.n)
    if "harness, 1 job(s)" in refused:  # the yardstick itself failed: no figure at all
        refused.update({label: "the local pool at one job, which every way is checked against, had grader faults"
                        for label in results if label not in refused})
    base_s = results["nbgrader autograde"]
    one = results["harness, 1 job(s)"]
    print(f"\n{'':30s} {'s/submission':>12s} {'vs nbgrader':>11s} {'vs 1 job':>9s} {'class only: s/sub':>18s} "
          f"{'vs 1 job':>9s}")
    for label, seconds in results.items():
        if label in refused:
            print(f"{label:30s} NO FIGURE: {refused[label]}")
            continue
        per = seconds / args.n
        row = f"{label:30s} {per:12.2f} " + (f"{base_s / seconds:10.1f}x" if "nbgrader autograde" not in refused
                                               else f"{'-':>11s}") + f" {one / seconds:8.2f}x"
        if label in class_only:
            row += f" {class_only[label] / args.n:18.3f} {class_only['harness, 1 job(s)'] / class_only[label]:8.2f}x"
        print(row)
    print("(whole command: the harness's control run and references included; class only: from the first submission "
          "on)")
    print(f"\nharness, 1 job: {sandbox_s:.2f} s per submission in the sandbox, of which {beyond_s:.2f} s beyond the "
          f"graded functions' own time (process start, imports, the notebook's own top-level code, reading results)")
    if refused:
        print(f"\nno figure for {len(refused)} way(s) of grading: they did not give the local pool's grades")
        sys.exit(1)


if __name__ == "__main__":
    main()
