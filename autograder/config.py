"""The course directory and its settings, read from ``nbgrader_config.py``.

The repository root is the nbgrader course directory. nbgrader's own settings (``c.CourseDirectory.*``) say where
things live, and nbgrader's :class:`~nbgrader.coursedir.CourseDirectory` reads them, its defaults included; the
harness's settings live beside them as ``c.Harness.*`` (limits, isolation, parallel jobs), traits of
:class:`Harness` with one help text each (``python -m autograder settings``, docs/settings.md). A key under
``c.Harness`` that is no setting, or a value a setting does not allow, is a :class:`SettingsError` naming it.

There is no grading seed among the settings: every ``autograde`` run draws a fresh one
(see :func:`autograder.registry.fresh_seed`), because anything written in this folder can
end up in the students' hands, and a known seed lets a student compute every hidden case.

The student edition ships this module (without ``grading/``): it needs nothing beyond traitlets and nbgrader, and
``Course.limits`` is None there.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, fields
from pathlib import Path

from traitlets import Bool, Enum, Float, Integer, List, TraitError, TraitType, Unicode, default, validate
from traitlets.config import Config, Configurable

from autograder.errors import SettingsError


SEED_SETTINGS_REMOVED = (
    "{where} is no longer used: every autograde run draws a fresh secret seed for the hidden cases and "
    "records it in the log and in each autograder_report.json (repeat a run on purpose with "
    "`autograde --seed N`). A seed kept in the course folder or its repository lets students compute every "
    "hidden case. Remove it.")

SANDBOX_MODES = ("auto", "bwrap", "unshare", "rlimits")
DEFAULT_COURSE_ID = "course"  # where nbgrader_config.py sets no c.CourseDirectory.course_id (nbgrader's is "")


class Harness(Configurable):
    """The grading harness's settings: ``c.Harness.<name> = value`` in nbgrader_config.py.

    The limits are the course-wide maxima of one submission (``Course.limits``, a plain
    :class:`~autograder.grading.limits.Limits` built from these traits): a registry entry may ask for less memory or
    CPU for its own function, never more. Traits tagged ``env`` are overridden by that environment variable when it
    is set and not empty; ``default_text`` describes a default computed on the machine."""

    setup_s = Float(30.0, help=(
        "Wall-clock seconds a submission's top-level code (its imports, definitions and provided cells) may run "
        "before its graded functions are called.")).tag(config=True, positive=True)
    function_s = Float(None, allow_none=True, help=(
        "Wall-clock seconds for each graded function, all its cases together. Unset (None), each function keeps "
        "its own budget from the registry (10 s for most, 60 s for training loops); set, it replaces them all.")
    ).tag(config=True, positive=True)
    memory_mb = Integer(2048, min=1, help=(
        "Address space of a student's process, in MiB (RLIMIT_AS). A registry entry may give its own function "
        "less.")).tag(config=True, positive=True)
    cpu_s = Integer(300, min=1, help=(
        "CPU seconds of a student's process (RLIMIT_CPU; the grader also stops a function 1.5 s past it). A "
        "registry entry may give its own function less.")).tag(config=True, positive=True)
    file_mb = Integer(64, min=1, help=(
        "Largest file a student's process may write, its captured output included, in MiB (RLIMIT_FSIZE).")
    ).tag(config=True, positive=True)
    open_files = Integer(64, min=1, help="Open files of a student's process (RLIMIT_NOFILE).").tag(config=True,
                                                                                              positive=True)
    processes = Integer(32, min=1, help=(
        "Processes of the sandbox user (RLIMIT_NPROC); it holds where student code runs as nobody (bwrap, or "
        "unshare as root).")).tag(config=True, positive=True)
    sandbox = Enum(SANDBOX_MODES, "auto", help=(
        "How student code is confined. auto: bwrap (bubblewrap) where it works, else unshare with setpriv (as "
        "root), else rlimits (resource limits only, with a loud warning); bwrap, unshare or rlimits: that level, "
        "an error where the machine cannot give it.")
    ).tag(config=True, env="AUTOGRADER_SANDBOX")
    trusted_submissions = Bool(False, help=(
        "The submissions are your own (samples, tests): grade them even where the sandbox could read the masters "
        "and the gradebook, which otherwise refuses the run.")
    ).tag(config=True, env="AUTOGRADER_TRUSTED_SUBMISSIONS")
    allowed_modules = List(Unicode(), default_value=["numpy"], help=(
        "Modules graded functions may import besides the standard library; a registry entry's imports add more "
        "for its own function only.")).tag(config=True)
    jobs = Integer(min=1, help="Submissions graded in parallel on this machine.").tag(
        config=True, positive=True, default_text="one per core (os.cpu_count())")
    scheduler = Unicode(None, allow_none=True, help=(
        "A Dask scheduler's address, e.g. tcp://grader-1:8786: the submissions run on its workers instead of "
        "this machine. Unset (None): this machine.")).tag(config=True)

    @default("jobs")
    def _one_job_per_core(self):
        return os.cpu_count() or 1

    # min=1 as well on the whole numbers: a value equal to a trait's static default is never validated (jobs: 0)
    @validate("setup_s", "function_s", "memory_mb", "cpu_s", "file_mb", "open_files", "processes", "jobs")
    def _positive(self, proposal):
        value = proposal["value"]
        if value is not None and (isinstance(value, bool) or not value > 0):
            raise TraitError(f"{proposal['trait'].name} must be above 0, not {value!r}")
        return value

    @validate("allowed_modules")
    def _module_names(self, proposal):
        for name in proposal["value"]:
            if not all(part.isidentifier() for part in name.split(".")):
                raise TraitError(f"{name!r} is not a module name")
        return proposal["value"]

    @classmethod
    def settings(cls) -> dict[str, TraitType]:
        """Every setting, by name, in the order they are declared."""
        traits = cls.class_traits(config=True)
        order = [name for name in vars(cls) if name in traits]
        return {name: traits[name] for name in order}

    @classmethod
    def from_config(cls, config: Config, environ=None) -> "Harness":
        """The settings in ``config`` (``c.Harness.*``), then the environment's overrides, each checked: a
        :class:`SettingsError` names an unknown key (and the setting it was probably meant to be) or a value the
        setting does not allow (and what it allows)."""
        environ = os.environ if environ is None else environ
        section = config.get("Harness", Config())
        if "grading_seed" in section:
            raise SettingsError(SEED_SETTINGS_REMOVED.format(where="c.Harness.grading_seed in nbgrader_config.py"))
        if "AUTOGRADER_SEED" in environ:
            raise SettingsError(SEED_SETTINGS_REMOVED.format(where="The AUTOGRADER_SEED environment variable"))
        known = cls.settings()
        for name in section:
            if name not in known:
                raise SettingsError(_unknown(name, known))
        try:
            harness = cls(config=config)
        except TraitError:
            for name, value in section.items():  # which one: each alone
                try:
                    cls(config=Config({"Harness": {name: value}}))
                except TraitError as error:
                    raise SettingsError(f"c.Harness.{name} = {value!r} in nbgrader_config.py is not allowed: "
                                        f"{_allowed(known[name], error)}.") from None
            raise
        for name, trait in known.items():
            variable = trait.metadata.get("env")
            raw = environ.get(variable) if variable else None
            if raw:
                value = raw not in ("0", "false") if isinstance(trait, Bool) else raw
                try:
                    setattr(harness, name, value)
                except TraitError as error:
                    raise SettingsError(f"The environment variable {variable}={raw!r} (it stands in for "
                                        f"c.Harness.{name}) is not allowed: {_allowed(trait, error)}.") from None
        return harness


def check_setting(name: str, value):
    """``value`` for ``c.Harness.<name>`` (an autograde option, for one run), checked by its trait: a
    :class:`SettingsError` says what the setting allows."""
    trait = Harness.settings()[name]
    try:
        setattr(Harness(), name, value)
    except TraitError as error:
        raise SettingsError(_allowed(trait, error)) from None
    return value


def _unknown(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"Did you mean c.Harness.{close[0]}?" if close else f"The settings are: {', '.join(known)}."
    return (f"c.Harness.{name} in nbgrader_config.py is not a setting of the harness (nothing would read it). "
            f"{hint} (`python -m autograder settings` lists them with their meaning.)")


def _kind(trait: TraitType) -> str:
    """What a setting holds, in words: its type and what it allows."""
    if isinstance(trait, Enum):
        return "one of " + ", ".join(repr(v) for v in trait.values)
    if isinstance(trait, Bool):
        return "True or False"
    if isinstance(trait, List):
        return "a list of module names"
    kind = {Integer: "a whole number", Float: "a number", Unicode: "a string"}[next(
        k for k in (Integer, Float, Unicode) if isinstance(trait, k))]
    if trait.metadata.get("positive"):
        kind += " above 0"
    return kind + (", or None" if trait.allow_none else "")


def _allowed(trait: TraitType, error: TraitError) -> str:
    why = str(error) if "module name" in str(error) else ""
    return f"c.Harness.{trait.name} must be {_kind(trait)}" + (f" ({why})" if why else "")


def _default_text(trait: TraitType, markdown: bool = False) -> str:
    if trait.metadata.get("default_text"):
        return trait.metadata["default_text"]
    return f"`{trait.default()!r}`" if markdown else repr(trait.default())


def _environment(trait: TraitType) -> str:
    """The environment variable that overrides a setting, and how it is read ('' where none does)."""
    variable = trait.metadata.get("env")
    if not variable:
        return ""
    read = " (0 or false: False; anything else: True)" if isinstance(trait, Bool) else ""
    return f"{variable}, when set and not empty, overrides nbgrader_config.py{read}"


def settings_help(flags: dict[str, str] | None = None, current: Harness | None = None) -> str:
    """Every setting with its type, default and help, as plain text (``python -m autograder settings``);
    ``flags``: the autograde option that overrides a setting for one run; ``current``: this course's values."""
    import textwrap

    lines = ["Harness settings: c.Harness.<name> = <value> in nbgrader_config.py", ""]
    for name, trait in Harness.settings().items():
        lines.append(f"c.Harness.{name} = <{_kind(trait)}>")
        lines += textwrap.wrap(trait.help, width=100, initial_indent="    ", subsequent_indent="    ")
        lines.append(f"    Default: {_default_text(trait)}")
        if _environment(trait):
            lines.append(f"    Environment: {_environment(trait)}")
        if flags and name in flags:
            lines.append(f"    For one run: autograde {flags[name]}")
        if current is not None:
            lines.append(f"    This course: {getattr(current, name)!r}")
        lines.append("")
    return "\n".join(lines)


def settings_markdown(flags: dict[str, str] | None = None) -> str:
    """docs/settings.md: every setting with its type, default and help, generated from :class:`Harness`."""
    out = ["# Settings", "",
           "<!-- Generated from autograder/config.py (class Harness): do not edit by hand. Regenerate with",
           "     .venv/bin/python -m autograder settings --markdown > docs/settings.md -->", "",
           "The course's settings live in `nbgrader_config.py` at the root of the course directory.", "",
           "- nbgrader's own, under `c.CourseDirectory`, say where things are: the harness reads `course_id` "
           f"(default here: `{DEFAULT_COURSE_ID}`), `source_directory`, `release_directory`, "
           "`submitted_directory`, `autograded_directory`, `feedback_directory` and `db_url` (the gradebook; "
           "default `sqlite:///<course>/gradebook.db`) through nbgrader's `CourseDirectory`, with nbgrader's "
           "defaults (`nbgrader --help-all` lists them).",
           "- The grading harness's, under `c.Harness`, are below. A key under `c.Harness` that is not one of them, "
           "or a value a setting does not allow, stops every command with a message naming it.",
           "- There is no grading seed among them on purpose: every `autograde` run draws a fresh one "
           "(`c.Harness.grading_seed` and `AUTOGRADER_SEED` are refused).", "",
           "`python -m autograder settings` prints the same list, with the values of the course it is run in.", "",
           "| setting | type | default |", "|---|---|---|"]
    settings = Harness.settings()
    for name, trait in settings.items():
        out.append(f"| [`{name}`](#{name}) | {_kind(trait)} | {_default_text(trait, markdown=True)} |")
    for name, trait in settings.items():
        out += ["", f"## {name}", "",
                f"`c.Harness.{name}`: {_kind(trait)}; default {_default_text(trait, markdown=True)}.", "", trait.help]
        if _environment(trait):
            variable, rest = _environment(trait).split(",", 1)
            out += ["", f"Environment: `{variable}`,{rest}."]
        if flags and name in flags:
            out += ["", f"For one run: `python -m autograder autograde <ps> {flags[name]} ...`."]
    return "\n".join(out) + "\n"


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


def _limits(harness: Harness):
    """The limits the grader passes around, a plain frozen dataclass (None in the student edition: no grader)."""
    try:
        from autograder.grading.limits import Limits
    except ImportError:
        return None
    settings = {f.name: getattr(harness, f.name) for f in fields(Limits)}
    settings["allowed_modules"] = tuple(settings["allowed_modules"])
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
    harness: Harness | None = None  # every c.Harness setting, checked, with the environment's overrides

    @classmethod
    def load(cls, root: Path | None = None) -> "Course":
        from nbgrader.coursedir import CourseDirectory

        root = find_root(root)
        config = _load_config(root)
        harness = Harness.from_config(config)
        # the folder holding nbgrader_config.py is the course's root, whatever c.CourseDirectory.root says
        cd = CourseDirectory(config=config, root=str(root))
        return cls(
            root=root,
            course_id=cd.course_id or DEFAULT_COURSE_ID,
            source=root / cd.source_directory,
            release=root / cd.release_directory,
            submitted=root / cd.submitted_directory,
            autograded=root / cd.autograded_directory,
            feedback=root / cd.feedback_directory,
            db_url=cd.db_url,
            jobs=harness.jobs,
            limits=_limits(harness),
            scheduler=harness.scheduler or None,
            config=config,
            harness=harness,
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

