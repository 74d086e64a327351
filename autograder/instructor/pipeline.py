"""The instructor's cycle: release, collect, autograde, feedback, export, status.

nbgrader does what it does well (generating student versions, the gradebook, feedback
HTML, CSV export); the harness replaces only its notebook execution when grading.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import traceback
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import nbformat

from autograder.instructor import gradebook
from autograder.config import Course
from autograder.errors import GraderFault, GradingRefused, SubmissionError, UserError
from autograder.grading.runner import Grader, GraderFault, SubmissionResult
from autograder.grading.notebooks import (MAX_NOTEBOOK_BYTES, SubmissionError, autograded_notebook, full_solution,
                                  program_cells, read_submission)
from autograder.registry import fresh_seed, get_problem_set

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def nbgrader(course: Course, *args: str, quiet: bool = True) -> None:
    """Run an nbgrader command in the course directory, with this venv's tools on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course.root, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0 or (not quiet):
        sys.stderr.write(result.stdout + result.stderr)
    if result.returncode != 0:
        raise UserError(f"nbgrader {' '.join(args)} failed (exit code {result.returncode}); its log is above")


def timestamp_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


# ------------------------------------------------------------------ release
def release(course: Course, problem_set: str) -> Path:
    get_problem_set(problem_set)
    if not course.master(problem_set).exists():
        raise UserError(f"no master notebook at {course.master(problem_set)}")
    nbgrader(course, "generate_assignment", problem_set, "--force")
    publish(course, problem_set)
    return course.released(problem_set)


def exchange_root(course: Course) -> Path:
    """The nbgrader exchange's folder (``c.Exchange.root``; a relative one is in the course folder)."""
    root = Path(course.config.get("Exchange", {}).get("root", "/usr/local/share/nbgrader/exchange"))
    return root if root.is_absolute() else course.root / root


def publish(course: Course, problem_set: str) -> None:
    """Release the student version into the exchange (nbgrader release_assignment), for the Assignment List.
    A course-local exchange is made here; a shared one must exist, writable by everyone (nbgrader's rule)."""
    root = exchange_root(course)
    if not root.is_relative_to(course.root) and not root.is_dir():
        raise UserError(f"the exchange folder {root} (c.Exchange.root) does not exist: create it, writable by every "
                        f"user of the server (e.g. sudo mkdir -p {root} && sudo chmod 777 {root})")
    root.mkdir(parents=True, exist_ok=True)
    nbgrader(course, "release_assignment", problem_set, "--force")


def exchange_submissions(course: Course, problem_set: str) -> list[tuple[PurePosixPath, int, str, callable]]:
    """The latest submission of each student in the exchange's inbound folder, as (student/<ps>.ipynb, size,
    nbgrader's submission time, read). nbgrader's submit names each one <student>+<ps>+<time>+<random>."""
    inbound = exchange_root(course) / course.course_id / "inbound"
    latest: dict[str, tuple[str, Path]] = {}
    for folder in sorted(inbound.glob(f"*+{problem_set}+*")) if inbound.is_dir() else []:
        student = folder.name.split("+")[0]
        notebook, stamp = folder / f"{problem_set}.ipynb", folder / "timestamp.txt"
        if not notebook.is_file() or not stamp.is_file():
            continue
        when = stamp.read_text()[:64].strip()
        if student not in latest or when > latest[student][0]:
            latest[student] = (when, notebook)
    return [(PurePosixPath(student) / f"{problem_set}.ipynb", path.stat().st_size, when, path.read_bytes)
            for student, (when, path) in sorted(latest.items())]


# ------------------------------------------------------------------ collect
def _student_of(member: PurePosixPath, problem_set: str) -> str:
    """alice/ps1.ipynb, alice/ps1/ps1.ipynb -> alice; alice.ipynb, alice_ps1.ipynb -> alice."""
    if len(member.parts) > 1:
        return member.parts[0]
    stem = member.stem
    suffix = f"_{problem_set}"
    return stem[: -len(suffix)] if stem.endswith(suffix) else stem


def _candidates(source: Path) -> list[tuple[PurePosixPath, int, float, callable]]:
    """(relative path, size, mtime, read) for every notebook in a folder or a zip."""
    found = []
    skip = lambda p: any(part.startswith((".", "__MACOSX")) for part in p.parts)
    if source.is_dir():
        for path in sorted(source.rglob("*.ipynb")):
            rel = PurePosixPath(path.relative_to(source).as_posix())
            if not skip(rel):
                stat = path.stat()
                found.append((rel, stat.st_size, stat.st_mtime, path.read_bytes))
    elif zipfile.is_zipfile(source):
        archive = zipfile.ZipFile(source)
        for info in archive.infolist():
            rel = PurePosixPath(info.filename)
            if info.is_dir() or rel.suffix != ".ipynb" or skip(rel) or ".." in rel.parts:
                continue
            mtime = datetime(*info.date_time, tzinfo=timezone.utc).timestamp()
            found.append((rel, info.file_size, mtime, lambda info=info: archive.read(info)))
    else:
        raise UserError(f"{source} is neither a folder nor a zip file")
    return found


def collect(course: Course, problem_set: str, source: Path | None, log=print) -> dict:
    """Copy submissions from a folder or zip, or (``source`` None) from the nbgrader exchange, into
    submitted/<student>/<ps>/<ps>.ipynb, with timestamp.txt: the file's time, or the exchange's submission time.

    Unknown students, unreadable names and duplicates are reported and skipped; nothing
    already collected is lost (a replaced submission is moved to archive/ first).
    """
    get_problem_set(problem_set)
    if source is not None and not source.exists():
        raise UserError(f"{source} does not exist")
    roster = course.students()
    by_student: dict[str, list] = {}
    report = {"collected": [], "unchanged": [], "errors": [], "missing": []}
    candidates = _candidates(source) if source is not None else exchange_submissions(course, problem_set)
    for rel, size, mtime, read in candidates:
        student = _student_of(rel, problem_set)
        if not STUDENT_ID.match(student):
            report["errors"].append(f"{rel}: '{student}' is not a valid student id; skipped")
        elif roster and student not in roster:
            report["errors"].append(f"{rel}: unknown student '{student}' (not in roster.csv); skipped. "
                                    f"Fix the name or add the student to roster.csv")
        else:
            by_student.setdefault(student, []).append((rel, size, mtime, read))
    for student, files in sorted(by_student.items()):
        if len(files) > 1:
            named = [f for f in files if f[0].name == f"{problem_set}.ipynb"]
            if len(named) != 1:
                names = ", ".join(str(f[0]) for f in files)
                report["errors"].append(f"{student}: several notebooks ({names}) and not exactly one named "
                                        f"{problem_set}.ipynb; skipped")
                continue
            files = named
        rel, size, mtime, read = files[0]
        if size > MAX_NOTEBOOK_BYTES:
            report["errors"].append(f"{student}: {rel} is {size / 2**20:.1f} MiB, over the "
                                    f"{MAX_NOTEBOOK_BYTES / 2**20:.0f} MiB limit; skipped")
            continue
        data = read()
        dest_dir = course.submitted / student / problem_set
        dest = dest_dir / f"{problem_set}.ipynb"
        if dest.exists() and dest.read_bytes() == data:
            report["unchanged"].append(student)
            continue
        if dest_dir.exists():
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
            backup = course.root / "archive" / "submitted" / student / problem_set / stamp
            backup.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(dest_dir), backup)
            log(f"  {student}: previous submission moved to {backup.relative_to(course.root)}")
        dest_dir.mkdir(parents=True)
        dest.write_bytes(data)
        when = mtime if isinstance(mtime, str) else \
            datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        (dest_dir / "timestamp.txt").write_text(when)
        try:
            read_submission(dest)
        except SubmissionError as error:
            report["errors"].append(f"{student}: collected, but {error}; it will score 0")
        report["collected"].append(student)
    report["missing"] = [s for s in roster if s not in by_student]
    _import_roster(course)
    return report


def _import_roster(course: Course) -> None:
    """Put roster.csv's students in the gradebook, so exports list those who submitted nothing."""
    from nbgrader.api import Gradebook

    roster = course.roster()
    if not roster:
        return
    with Gradebook(course.db_url, course.course_id) as gb:
        for student, row in roster.items():
            if STUDENT_ID.match(student):
                details = {k: row[k] for k in ("first_name", "last_name", "email") if row.get(k)}
                gb.update_or_create_student(student, **details)


# ------------------------------------------------------------------ autograde
def check_released(course: Course, problem_set: str) -> None:
    """The gradebook must know the release, with the registry's points (they are written into the
    release by ``release``); otherwise say which command fixes it. Nothing is regenerated here."""
    ps = get_problem_set(problem_set)
    known = gradebook.max_points(course.db_url, course.course_id, problem_set, problem_set)
    command = f"python -m autograder release {problem_set}"
    if known is None:
        raise UserError(f"{problem_set} is not in the gradebook ({course.db_url}): release it first with `{command}`")
    stale = [f"{fn.test_grade_id} ({known.get(fn.test_grade_id, 'missing')} instead of {fn.points})"
             for fn in ps.functions if known.get(fn.test_grade_id) != fn.points]
    if stale:
        raise UserError(f"the gradebook's {problem_set} has points from another release: {', '.join(stale)}. "
                        f"Release it again with `{command}` (and commit assignments/)")


def submissions(course: Course, problem_set: str) -> list[str]:
    if not course.submitted.exists():
        return []
    return sorted(p.parent.name for p in course.submitted.glob(f"*/{problem_set}") if p.is_dir())


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
        if raw["readable"]:
            if not grader.limits.trusted_submissions:
                raise GradingRefused(exposure_refusal(grader, raw["readable"], course_root))
            log(f"control: WARNING: the sandbox can read {len(raw['readable'])} file(s) that student code must "
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
    problem: str | None = None       # why it could not be read (for the student)
    cells: list | None = None        # the program the sandbox runs
    raw: dict | None = None          # what came back from the sandbox
    result: SubmissionResult | None = None
    graded: object = None            # the autograded notebook
    timestamp: str | None = None


def step_read(sub: Submission, problem_set: str) -> None:
    try:
        sub.notebook = read_submission(sub.folder / f"{problem_set}.ipynb")
    except SubmissionError as error:
        sub.problem = f"your submission could not be graded: {error}."
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
    sub.graded = autograded_notebook(release_nb, sub.notebook, sub.result, sub.problem)
    sub.out.mkdir(parents=True, exist_ok=True)
    nbformat.write(sub.graded, sub.out / f"{problem_set}.ipynb")
    if sub.timestamp:
        (sub.out / "timestamp.txt").write_text(sub.timestamp)
    result = sub.result
    names = [fn.name for fn in get_problem_set(problem_set).functions]
    function_seconds = {names[i]: round(t, 4) for i, t in (sub.raw or {}).get("function_seconds", {}).items()
                        if 0 <= i < len(names)}
    report = {"student": sub.student, "seed": seed, "problem": sub.problem,
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
                    line = f"0/{ps.total_points}: {sub.problem}"
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


# ------------------------------------------------------------------ feedback, export, status
def feedback(course: Course, problem_set: str) -> Path:
    nbgrader(course, "generate_feedback", problem_set, "--force")
    return course.feedback


def table(course: Course, problem_set: str) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Columns (graded functions, then hand-graded questions) and each student's points."""
    from nbgrader.api import Gradebook

    ps = get_problem_set(problem_set)
    scores = gradebook.scores(course.db_url, course.course_id, problem_set, problem_set)
    with Gradebook(course.db_url, course.course_id) as gb:
        notebook = gb.find_notebook(problem_set, problem_set)
        manual = [g.name for g in notebook.grade_cells if not g.name.startswith("test_")]
    columns = [fn.test_grade_id for fn in ps.functions] + manual
    return columns, scores


def format_table(course: Course, problem_set: str, max_width: int = 120) -> str:
    """Students x graded functions (then the hand-graded questions) with points; columns are
    numbered, with a legend, when the names would not fit in ``max_width``."""
    ps = get_problem_set(problem_set)
    columns, scores = table(course, problem_set)
    points = {fn.test_grade_id: fn.points for fn in ps.functions}
    for student in course.students():
        scores.setdefault(student, {})
    names = [c.removeprefix("test_") for c in columns]
    width = max([7] + [len(s) for s in scores])
    legend = []
    heads = names
    if width + sum(len(h) + 2 for h in heads) + 7 > max_width:
        heads = [f"#{i + 1}" for i in range(len(names))]
        legend = [f"  {h:>4} {n}" for h, n in zip(heads, names)]
    if any(v is None for row in scores.values() for v in row.values()):
        legend.append("  (? = awaits a grader in the formgrader)")
    heads = [h.rjust(max(len(h), 4)) for h in heads]
    lines = legend + [f"{'student':<{width}}  " + "  ".join(heads) + "  total"]
    for student, row in sorted(scores.items()):
        if not row:
            lines.append(f"{student:<{width}}  (no submission)")
            continue
        cells = []
        for column, head in zip(columns, heads):
            score = row.get(column)
            text = "?" if score is None else f"{score:g}"
            if column in points:
                text = f"{text}/{points[column]}"
            cells.append(f"{text:>{len(head)}}")
        total = sum(v for v in row.values() if v is not None)
        lines.append(f"{student:<{width}}  " + "  ".join(cells) + f"  {total:g}")
    return "\n".join(lines)
