"""``collect``: submissions from a folder, a zip or the nbgrader exchange into submitted/<student>/<ps>/."""
from __future__ import annotations

import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from autograder.config import Course
from autograder.errors import SubmissionError, UserError
from autograder.grading.notebooks import MAX_NOTEBOOK_BYTES, read_submission
from autograder.instructor.common import STUDENT_ID, exchange_root
from autograder.registry import get_problem_set


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
