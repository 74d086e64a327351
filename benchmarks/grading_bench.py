"""Grading throughput: plain `nbgrader autograde` against the harness at 1 and 2 local jobs and on a 2-worker Dask
LocalCluster, on the same class, in one run.

    make bench-grading        (or: .venv/bin/python benchmarks/grading_bench.py [--n 40] [--ps ps1])

The class is N submissions of one problem set: 40 % the full solution, 30 % a planted bug in one function, 15 % the
untouched release, 15 % a function that raises. Each way of grading gets a fresh copy of the course with the same
submissions; the times are wall-clock seconds for the whole command (for the harness: the control run and the
references included, as an instructor would see them). It prints seconds per submission, the ratios, and the
harness's own time per submission beyond the graded functions' time in the sandbox (from each submission's
report: its sandbox seconds minus the functions' own seconds).
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
from autograder import pipeline, samples  # noqa: E402
from autograder.course import Course  # noqa: E402
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


def fresh_course(base: Path, name: str, ps_name: str, students) -> Course:
    root = base / name
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions", root / "solutions")
    shutil.copytree(REPO / "assignments", root / "assignments")
    course = Course.load(root)
    pipeline.release(course, ps_name)
    for student, notebook in students:
        folder = course.submitted / student / ps_name
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{ps_name}.ipynb")
    return course


def timed(label: str, run) -> float:
    print(f"  {label} ...", end="", flush=True)
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    print(f" {seconds:.1f} s")
    return seconds


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
    from distributed import Client, LocalCluster

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, "
          f"Python {platform.python_version()}; {args.n} submissions of {args.ps}")
    students = make_class(args.ps, args.n)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    results = {}
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        base = Path(tmp)
        course = fresh_course(base, "nbgrader", args.ps, students)

        def plain():
            run = subprocess.run([str(BIN / "nbgrader"), "autograde", args.ps, "--force"], cwd=course.root, env=env,
                                 capture_output=True, text=True)
            graded = len(list(course.autograded.glob(f"*/{args.ps}/{args.ps}.ipynb")))
            if graded != args.n:
                print(f"\n  nbgrader autograde graded {graded} of {args.n}:\n{run.stderr[-2000:]}")

        results["nbgrader autograde"] = timed("plain nbgrader autograde (one kernel per notebook)", plain)
        class_only = {}
        for jobs in (1, 2):
            course = fresh_course(base, f"harness{jobs}", args.ps, students)
            phases = Phases()
            results[f"harness, {jobs} job(s)"] = timed(
                f"harness, {jobs} local job(s)", lambda: pipeline.autograde(course, args.ps, jobs=jobs, log=phases))
            class_only[f"harness, {jobs} job(s)"] = phases.class_seconds()
            if jobs == 1:
                sandbox_s, beyond_s = overhead(course, args.ps)
        course = fresh_course(base, "dask", args.ps, students)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
                Client(cluster, set_as_default=False) as client:
            # warm workers, as in a cluster that has graded before: the problem set's modules (and torch) imported
            client.run(warm, args.ps)
            phases = Phases()
            results["harness on Dask, 2 workers"] = timed(
                "harness on a 2-worker Dask LocalCluster",
                lambda: pipeline.autograde(course, args.ps, log=phases, scheduler=client))
            class_only["harness on Dask, 2 workers"] = phases.class_seconds()
    base_s = results["nbgrader autograde"]
    one = results["harness, 1 job(s)"]
    print(f"\n{'':30s} {'s/submission':>12s} {'vs nbgrader':>11s} {'vs 1 job':>9s} {'class only: s/sub':>18s} "
          f"{'vs 1 job':>9s}")
    for label, seconds in results.items():
        per = seconds / args.n
        row = f"{label:30s} {per:12.2f} {base_s / seconds:10.1f}x {one / seconds:8.2f}x"
        if label in class_only:
            row += f" {class_only[label] / args.n:18.3f} {class_only['harness, 1 job(s)'] / class_only[label]:8.2f}x"
        print(row)
    print("(whole command: the harness's control run and references included; class only: from the first submission "
          "on)")
    print(f"\nharness, 1 job: {sandbox_s:.2f} s per submission in the sandbox, of which {beyond_s:.2f} s beyond the "
          f"graded functions' own time (process start, imports, the notebook's own top-level code, reading results)")


if __name__ == "__main__":
    main()
