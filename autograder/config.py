"""The course directory and its settings, read from ``nbgrader_config.py``.

The repository root is the nbgrader course directory. nbgrader's own settings
(``c.CourseDirectory.*``) say where things live; the harness's settings live beside
them as ``c.Harness.*`` (limits, parallel jobs).

There is no grading seed among the settings: every ``autograde`` run draws a fresh one
(see :func:`autograder.registry.fresh_seed`), because anything written in this folder can
end up in the students' hands, and a known seed lets a student compute every hidden case.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from autograder.errors import SettingsError  # noqa: F401 (raised here)


SEED_SETTINGS_REMOVED = (
    "{where} is no longer used: every autograde run draws a fresh secret seed for the hidden cases and "
    "records it in the log and in each autograder_report.json (repeat a run on purpose with "
    "`autograde --seed N`). A seed kept in the course folder or its repository lets students compute every "
    "hidden case. Remove it.")


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding nbgrader_config.py."""
    here = (start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        if (folder / "nbgrader_config.py").is_file():
            return folder
    raise FileNotFoundError("no nbgrader_config.py here or above: run this inside the course directory")


def _load_config(root: Path):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def _limits(harness: dict):
    """The harness's limits from ``c.Harness.*`` and the environment (None in the student edition: no grader)."""
    try:
        from autograder.grading.limits import Limits
    except ImportError:
        return None
    settings = {f.name: harness[f.name] for f in fields(Limits) if f.name in harness}
    if "allowed_modules" in settings:
        settings["allowed_modules"] = tuple(settings["allowed_modules"])
    if os.environ.get("AUTOGRADER_SANDBOX"):
        settings["sandbox"] = os.environ["AUTOGRADER_SANDBOX"]
    if os.environ.get("AUTOGRADER_TRUSTED_SUBMISSIONS"):
        settings["trusted_submissions"] = os.environ["AUTOGRADER_TRUSTED_SUBMISSIONS"] not in ("0", "false", "")
    return Limits(**settings)


@dataclass
class Course:
    root: Path
    course_id: str
    source: Path
    release: Path
    submitted: Path
    autograded: Path
    feedback: Path
    db_url: str
    jobs: int
    limits: object  # grading.limits.Limits; None in the student edition, which grades nothing
    scheduler: str | None = None   # a Dask scheduler (c.Harness.scheduler): submissions run on its workers
    config: object = None  # the whole traitlets config, for nbgrader's own classes

    @classmethod
    def load(cls, root: Path | None = None) -> "Course":
        root = find_root(root)
        config = _load_config(root)
        cd = config.get("CourseDirectory", {})
        harness = config.get("Harness", {})
        limits = _limits(harness)
        if "grading_seed" in harness:
            raise SettingsError(SEED_SETTINGS_REMOVED.format(where="c.Harness.grading_seed in nbgrader_config.py"))
        if "AUTOGRADER_SEED" in os.environ:
            raise SettingsError(SEED_SETTINGS_REMOVED.format(where="The AUTOGRADER_SEED environment variable"))
        return cls(
            root=root,
            course_id=cd.get("course_id", "course"),
            source=root / cd.get("source_directory", "source"),
            release=root / cd.get("release_directory", "release"),
            submitted=root / cd.get("submitted_directory", "submitted"),
            autograded=root / cd.get("autograded_directory", "autograded"),
            feedback=root / cd.get("feedback_directory", "feedback"),
            db_url=cd.get("db_url", f"sqlite:///{root / 'gradebook.db'}"),
            jobs=int(harness.get("jobs", os.cpu_count() or 1)),
            limits=limits,
            scheduler=harness.get("scheduler") or None,
            config=config,
        )

    def master(self, problem_set: str) -> Path:
        return self.source / problem_set / f"{problem_set}.ipynb"

    def released(self, problem_set: str) -> Path:
        return self.release / problem_set / f"{problem_set}.ipynb"

    def roster(self) -> dict[str, dict[str, str]]:
        """roster.csv: {student id: its row's other columns (first_name, last_name, email, ...), stripped}."""
        import csv

        path = self.root / "roster.csv"
        if not path.exists():
            return {}
        with open(path, newline="") as f:
            return {row["id"].strip(): {k: (v or "").strip() for k, v in row.items() if k and k != "id"}
                    for row in csv.DictReader(f) if (row.get("id") or "").strip()}

    def students(self) -> list[str]:
        """Student ids from roster.csv (first column ``id``)."""
        return list(self.roster())

