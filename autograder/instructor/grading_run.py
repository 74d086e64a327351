"""``autograde``: every submission of a problem set through the sandbox, judged here, recorded in the gradebook.

Each submission goes through read -> assemble -> run -> judge -> render -> record -> penalize (the ``step_*``
functions). Before any of them, the master is graded as a control through the same sandbox, limits and seed: if it
does not get full marks, or the sandbox can read what student code must never see, nothing is graded or recorded.
"""
from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.config import Course
from autograder.errors import GraderFault, GradingRefused, SubmissionError, UserError
from autograder.grading.grader import Grader
from autograder.grading.judge import SubmissionResult
from autograder.grading.notebooks import autograded_notebook, full_solution, program_cells, read_submission
from autograder.grading.runner import RunResult
from autograder.instructor import gradebook
from autograder.instructor.common import check_released, submissions
from autograder.registry import fresh_seed, get_problem_set


class GradingRun(dict):
    """student -> SubmissionResult (None: the file could not be read as a notebook), plus the run's
    seed and the submissions the grader itself failed on (``grader_errors``, never recorded)."""

    def __init__(self, seed: int):
        super().__init__()
        self.seed = seed
        self.grader_errors: dict[str, str] = {}


def _indent(text: str, prefix: str = "    | ") -> str:
    return "\n".join(prefix + line for line in text.rstrip().splitlines()) or prefix + "(nothing)"


def secrets(course: Course) -> list[Path]:
    """What student code must never read, most telling first: the masters, the gradebook (SQLite), the roster, and
    the problem sets' own code (the registries with their references, and the planted bugs beside full solutions)."""
    import autograder.problemsets

    found = sorted(course.source.glob("*/*.ipynb"))
    if course.db_url.startswith("sqlite:///"):
        found.append(Path(course.db_url[len("sqlite:///"):]))
    found.append(course.root / "roster.csv")
    found += sorted(Path(autograder.problemsets.__file__).resolve().parent.glob("**/*.py"))
    return [path.resolve() for path in found if path.is_file()]


def exposure_refusal(grader: Grader, readable: list[str], course_root: Path) -> str:
    """Why grading stops when the sandbox could read ``readable``, and how to fix it."""
    shown = "".join(f"\n  - {path}" for path in readable[:8])
    if len(readable) > 8:
        shown += f"\n  - ... and {len(readable) - 8} more"
    if grader.isolation.mode == "rlimits":
        fix = ("without a sandbox (isolation: rlimits) student code runs as your own user and can read all of it. "
               "Install bubblewrap (apt-get install bubblewrap), which shows student code only the Python "
               "standard library, NumPy and its job folder, or grade as root, where unshare runs it as 'nobody'.")
    else:
        root = course_root.resolve()
        parents = {root if Path(p).is_relative_to(root) else Path(p).parent for p in readable}
        folders = sorted(str(f) for f in parents if not any(f != g and f.is_relative_to(g) for g in parents))
        fix = (f"under isolation {grader.isolation.mode}, student code runs as 'nobody' on this machine's own files, "
               f"protected only by their permissions. Close the folders that hold them to other users: "
               f"chmod 700 {' '.join(folders)}; or install bubblewrap (apt-get install bubblewrap), which hides "
               f"them whatever their modes.")
    return (f"the sandbox's user could read files that student code must never see, so nothing was graded or "
            f"recorded for anyone. A submission could copy the masters' solutions or read the gradebook:{shown}\n"
            f"Fix: {fix}\n(For submissions that are your own, such as samples or tests, "
            f"c.Harness.trusted_submissions = True or AUTOGRADER_TRUSTED_SUBMISSIONS=1 grades them anyway.)")


def control_run(grader: Grader, master, release_nb, log, probe: list[Path] = (), course_root: Path = Path("/")) -> None:
    """Grade the master's own solutions through the same sandbox, limits and seed as the class.

    Anything short of full marks means the grader cannot be trusted on this machine as it is
    configured: raise GradingRefused with what failed, the sandbox's own output and the fix.
    Before any notebook code runs, the sandboxed process tries to read each of ``probe`` (the
    course's :func:`secrets`): if it can read any, grading is refused too (unless the submissions
    are trusted), whatever the mode, with the fix."""
    from autograder.grading import isolation

    ps = grader.problem_set
    log_text, what = "", ""
    try:
        raw = grader.run(program_cells(master, full_solution(master, release_nb)), probe=[str(p) for p in probe])
        result = grader.judge(raw)
    except GraderFault as fault:
        what, log_text = str(fault), fault.log
    else:
        if raw.readable:
            if not grader.limits.trusted_submissions:
                raise GradingRefused(exposure_refusal(grader, raw.readable, course_root))
            log(f"control: WARNING: the sandbox can read {len(raw.readable)} file(s) that student code must "
                f"never see (the masters, the gradebook, the planted bugs); graded anyway because the "
                f"submissions are trusted (c.Harness.trusted_submissions)")
        elif probe:
            log(f"control: the sandbox cannot read the masters, the gradebook or the planted bugs "
                f"({len(probe)} file(s) tried; isolation: {grader.isolation.mode})")
        if result.score == ps.total_points:
            log(f"control: the master's solutions score {result.score}/{ps.total_points} in the sandbox "
                f"({result.seconds:.2f} s)")
            for name, (seconds, budget) in grader.calibrate(raw).items():
                log(f"control: {name} took {seconds:.3f} s; its budget for this run is {budget:.2f} s "
                    f"({ps[name].budget_vs_master:g} x, at least {ps[name].min_budget_s:g} s)")
            return
        what = f"the master's own solutions scored {result.score}/{ps.total_points}."
        what += "".join(f"\nIts cell {cell!r} failed in the sandbox:\n{_indent(error)}"
                        for cell, error in result.cell_errors.items())
        for verdict in result.functions.values():
            if not verdict.passed:
                what += f"\n{verdict.messages[0]}" + (f" First: {verdict.messages[1]}" if len(verdict.messages) > 1 else "")
        log_text = result.log_tail
    fixes = isolation.diagnose(grader.isolation, grader.sandbox_needs(), f"{what}\n{log_text}")
    raise GradingRefused(
        f"the control submission failed, so nothing was graded or recorded for anyone.\n"
        f"What failed: {what}\n"
        f"The sandbox's own output (last lines):\n{_indent(log_text[-3000:])}\n"
        f"Fix:\n" + "\n".join(f"  - {fix}" for fix in fixes))


@dataclass
class Submission:
    """One student's submission as it moves through autograde's steps."""

    student: str
    folder: Path                     # submitted/<student>/<ps>/
    out: Path                        # autograded/<student>/<ps>/
    notebook: object = None          # the submitted notebook, once read
    unreadable: str | None = None    # why it could not be read as a notebook (for the student)
    cells: list | None = None        # the program the sandbox runs
    raw: RunResult | None = None     # what came back from the sandbox
    result: SubmissionResult | None = None
    graded: object = None            # the autograded notebook
    timestamp: str | None = None


def step_read(sub: Submission, problem_set: str) -> None:
    try:
        sub.notebook = read_submission(sub.folder / f"{problem_set}.ipynb")
    except SubmissionError as error:
        sub.unreadable = f"your submission could not be graded: {error}."
    stamp = sub.folder / "timestamp.txt"
    sub.timestamp = stamp.read_text().strip()[:64] if stamp.is_file() else None


def step_assemble(sub: Submission, master) -> None:
    if sub.notebook is not None:
        sub.cells = program_cells(master, sub.notebook)


def step_run(sub: Submission, executor) -> None:
    """In the sandbox, here or on a Dask worker (``executors``): only plain data comes back."""
    if sub.cells is not None:
        sub.raw = executor.run(sub.cells)


def step_judge(sub: Submission, grader: Grader) -> None:
    if sub.raw is not None:
        sub.result = grader.judge(sub.raw)


def step_render(sub: Submission, release_nb, problem_set: str, seed: int) -> None:
    sub.graded = autograded_notebook(release_nb, sub.notebook, sub.result, sub.unreadable)
    sub.out.mkdir(parents=True, exist_ok=True)
    nbformat.write(sub.graded, sub.out / f"{problem_set}.ipynb")
    if sub.timestamp:
        (sub.out / "timestamp.txt").write_text(sub.timestamp)
    result = sub.result
    function_seconds = {name: round(t, 4) for name, t in sub.raw.function_seconds.items()} if sub.raw else {}
    report = {"student": sub.student, "seed": seed, "problem": sub.unreadable,  # (the report's key since its first version)
              "seconds": result.seconds if result else 0.0, "function_seconds": function_seconds,
              "score": result.score if result else 0,
              "notes": result.notes if result else [],
              "functions": {n: {"points": r.points, "score": r.score, "messages": r.messages}
                            for n, r in (result.functions.items() if result else [])}}
    (sub.out / "autograder_report.json").write_text(json.dumps(report, indent=1))


def step_record(sub: Submission, course: Course, ps, gb=None) -> None:
    scores = {fn.test_grade_id: (sub.result.functions[fn.name].score if sub.result else 0) for fn in ps.functions}
    gradebook.record(course.db_url, course.course_id, ps.name, ps.name, sub.student, sub.graded, sub.timestamp,
                     scores, gb=gb)


def step_penalize(sub: Submission, course: Course, problem_set: str) -> None:
    gradebook.assign_late_penalty(course.config, course.db_url, problem_set, problem_set, sub.student, sub.graded)


def progress_bar(total: int, force: bool | None = None):
    """A tqdm bar on standard error (submissions per second, ETA) when it is a terminal (or ``force``); None
    otherwise (CI, a log file), where each submission keeps its one line and nothing else is printed."""
    if force is False or (force is None and not sys.stderr.isatty()):
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="submission", dynamic_ncols=True, leave=True, file=sys.stderr, mininterval=0.5)


def autograde(course: Course, problem_set: str, students: list[str] | None = None, jobs: int | None = None,
              log=print, seed: int | None = None, progress: bool | None = None, scheduler=None) -> GradingRun:
    """Grade the submissions of ``problem_set`` and record them in the gradebook.

    Each submission goes through read -> assemble -> run -> judge -> render -> record ->
    penalize. ``seed`` repeats an earlier run's hidden cases; by default a fresh one is drawn,
    so the hidden cases cannot be computed in advance. The master is graded first as a
    control: if it does not get full marks, nothing is recorded (GradingRefused). A submission
    the grader itself fails on (the sandbox did not start, an exception in the grader) is
    listed in ``grader_errors`` and never recorded as a zero. ``scheduler`` (default: ``c.Harness.scheduler``), a Dask
    scheduler's address or a ``distributed.Client``, runs the submissions on its workers instead of here; the
    control run, the references and every verdict stay in this process."""
    ps = get_problem_set(problem_set)
    available = submissions(course, problem_set)
    if students:
        unknown = [s for s in students if s not in available]
        if unknown:
            raise UserError(f"no submission of {problem_set} for {', '.join(unknown)} in "
                            f"{course.submitted.relative_to(course.root)}/ (have: {', '.join(available) or 'none'})")
    else:
        students = available
    if not students:
        raise UserError(f"nothing to grade: no folders {course.submitted.name}/<student>/{problem_set}/")
    check_released(course, problem_set)
    master = nbformat.read(course.master(problem_set), as_version=4)
    release_nb = nbformat.read(course.released(problem_set), as_version=4)
    run = GradingRun(fresh_seed() if seed is None else int(seed))
    log(f"grading seed {run.seed} ({'given' if seed is not None else 'drawn for this run'}; "
        f"repeat this run with --seed {run.seed})")
    lock = threading.Lock()
    started = time.perf_counter()
    with Grader(ps, run.seed, course.limits) as grader:
        log(f"grading {len(students)} submission(s) of {problem_set} ({len(ps.functions)} functions, "
            f"{ps.total_points} points; references computed in {time.perf_counter() - started:.2f} s)")
        control_run(grader, master, release_nb, log, probe=secrets(course), course_root=course.root)
        from autograder.grading.executors import executor_for

        try:
            executor = executor_for(grader, jobs or course.jobs, scheduler or course.scheduler)
        except (RuntimeError, OSError) as error:
            raise UserError(f"cannot grade on the Dask cluster: {error}") from None
        log(f"running submissions on {executor.describe()}")
        bar = progress_bar(len(students), progress)
        from nbgrader.api import Gradebook

        book = Gradebook(course.db_url, course.course_id)    # one for the run; used under ``lock`` only

        def say(line: str) -> None:
            if bar is None:
                log(line)
            else:
                with bar.external_write_mode():      # the line above the bar, the bar redrawn below it
                    log(line)

        def progress_line(student: str, line: str) -> None:
            say(f"  [{len(run) + len(run.grader_errors)}/{len(students)}] {student}: {line}")
            if bar is not None:
                bar.update(1)

        def grade_one(student: str) -> None:
            sub = Submission(student, course.submitted / student / problem_set, course.autograded / student / problem_set)
            try:
                step_read(sub, problem_set)
                step_assemble(sub, master)
                step_run(sub, executor)
                step_judge(sub, grader)
                step_render(sub, release_nb, problem_set, run.seed)
            except Exception as error:  # the grader's fault: reported, never recorded as a zero
                detail = f"{error}\n{_indent(error.log[-2000:])}" if isinstance(error, GraderFault) else \
                    traceback.format_exc()
                sub.out.mkdir(parents=True, exist_ok=True)
                (sub.out / "autograder_report.json").write_text(json.dumps(
                    {"student": student, "seed": run.seed, "grader_error": detail}, indent=1))
                with lock:
                    run.grader_errors[student] = detail
                    progress_line(student, f"GRADER ERROR, nothing recorded: {error}")
                    say(_indent(detail[-4000:]))
                return
            with lock:
                step_record(sub, course, ps, book)
                step_penalize(sub, course, problem_set)
                run[student] = sub.result
                result = sub.result
                if result:
                    line = f"{result.score}/{ps.total_points} auto points in {result.seconds:.2f} s"
                    if result.notes:
                        line += " (" + "; ".join(result.notes) + ")"
                else:
                    line = f"0/{ps.total_points}: {sub.unreadable}"
                progress_line(student, line)

        try:
            with ThreadPoolExecutor(max_workers=executor.slots) as pool:
                for future in [pool.submit(grade_one, s) for s in students]:
                    future.result()
        finally:
            executor.close()
            book.close()
            if bar is not None:
                bar.close()
        if grader.leftover_processes:
            log(f"killed {grader.leftover_processes} process(es) that had escaped a submission's process group")
        isolation_note, where = grader.isolation.mode, executor.describe()
    elapsed = time.perf_counter() - started
    log(f"graded {len(students)} submission(s) in {elapsed:.1f} s: {elapsed / len(students):.2f} s per submission "
        f"(isolation: {isolation_note}; {where}; grading seed {run.seed})")
    if run.grader_errors:
        log(f"GRADER ERRORS: {len(run.grader_errors)} submission(s) could not be graded because of the grader, "
            f"not the student; nothing was recorded for them: {', '.join(sorted(run.grader_errors))}. "
            f"Details are in autograded/<student>/{problem_set}/autograder_report.json; fix the cause, then "
            f"grade them again with --student.")
    return run
