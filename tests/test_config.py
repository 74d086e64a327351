"""The course's settings (autograder/config.py): the Harness traits, their checks and their one help text each,
nbgrader's CourseDirectory for where things are, the Limits the grader passes around, and docs/settings.md."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from traitlets.config import Config

from autograder import cli
from autograder.config import Course, Harness, _limits, settings_markdown
from autograder.errors import SettingsError
from autograder.grading import policy
from autograder.grading.limits import Limits

REPO = Path(__file__).resolve().parents[1]
ENVIRONMENT = ("AUTOGRADER_SANDBOX", "AUTOGRADER_TRUSTED_SUBMISSIONS", "AUTOGRADER_SEED")

# What Course.load gave for this repository's nbgrader_config.py before the settings were traits (commit 837fa5a,
# recorded with its config.py, no AUTOGRADER_* variable set): the values must not change.
BEFORE_REPO = {"course_id": "dl-perceptron-to-lstm", "source": "solutions", "release": "assignments",
               "submitted": "submitted", "autograded": "autograded", "feedback": "feedback",
               "db_url": "sqlite:///{root}/gradebook.db", "scheduler": None,
               "limits": Limits(setup_s=30, function_s=None, memory_mb=2048, cpu_s=300, file_mb=64, open_files=64,
                                processes=32, sandbox="auto", trusted_submissions=False,
                                allowed_modules=("numpy",))}


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch):
    """The suite sets AUTOGRADER_TRUSTED_SUBMISSIONS (and may set AUTOGRADER_SANDBOX): each test sets its own."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def course(folder: Path, *lines: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text("\n".join(["c = get_config()", *lines]) + "\n")
    return folder


def before(root: Path) -> dict:
    """Where things were, as the earlier config.py computed it by hand from c.CourseDirectory (nbgrader's
    defaults copied, course_id 'course')."""
    from traitlets.config.loader import PyFileConfigLoader

    cd = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config().get("CourseDirectory", {})
    return {"course_id": cd.get("course_id", "course"),
            **{name: root / cd.get(f"{name}_directory", name)
               for name in ("source", "submitted", "autograded", "feedback")},
            "release": root / cd.get("release_directory", "release"),
            "db_url": cd.get("db_url", f"sqlite:///{root / 'gradebook.db'}")}


def where(c: Course) -> dict:
    return {"course_id": c.course_id, "source": c.source, "release": c.release, "submitted": c.submitted,
            "autograded": c.autograded, "feedback": c.feedback, "db_url": c.db_url}


# ------------------------------------------------------------------ unknown keys and values not allowed
def test_a_misspelt_setting_is_refused_naming_it_and_the_right_one(tmp_path):
    root = course(tmp_path, "c.Harness.memroy_mb = 512")
    with pytest.raises(SettingsError) as refused:
        Course.load(root)
    message = str(refused.value)
    assert "c.Harness.memroy_mb" in message and "Did you mean c.Harness.memory_mb?" in message


def test_a_key_like_no_setting_lists_them_all(tmp_path):
    with pytest.raises(SettingsError) as refused:
        Course.load(course(tmp_path, "c.Harness.colour = 'blue'"))
    assert "c.Harness.colour" in str(refused.value)
    assert all(name in str(refused.value) for name in Harness.settings())


@pytest.mark.parametrize("line, allowed", [
    ("c.Harness.memory_mb = -512", "c.Harness.memory_mb must be a whole number above 0"),
    ("c.Harness.memory_mb = '2048'", "c.Harness.memory_mb must be a whole number above 0"),
    ("c.Harness.cpu_s = 0", "c.Harness.cpu_s must be a whole number above 0"),
    ("c.Harness.jobs = 0", "c.Harness.jobs must be a whole number above 0"),
    ("c.Harness.setup_s = -1.5", "c.Harness.setup_s must be a number above 0"),
    ("c.Harness.function_s = 0", "c.Harness.function_s must be a number above 0, or None"),
    ("c.Harness.sandbox = 'docker'", "c.Harness.sandbox must be one of 'auto', 'bwrap', 'unshare', 'rlimits'"),
    ("c.Harness.trusted_submissions = 'yes'", "c.Harness.trusted_submissions must be True or False"),
    ("c.Harness.allowed_modules = ['numpy', 'sci py']", "'sci py' is not a module name"),
])
def test_a_value_not_allowed_is_refused_naming_the_setting_and_what_it_allows(tmp_path, line, allowed):
    with pytest.raises(SettingsError) as refused:
        Course.load(course(tmp_path, line))
    name = line.split("=")[0].strip()
    assert str(refused.value).startswith(f"{line} in nbgrader_config.py is not allowed")
    assert allowed in str(refused.value), (name, str(refused.value))


def test_a_grading_seed_keeps_its_own_reason(tmp_path, monkeypatch):
    with pytest.raises(SettingsError, match="grading_seed in nbgrader_config.py is no longer used"):
        Course.load(course(tmp_path / "a", f"c.Harness.grading_seed = {1}"))
    monkeypatch.setenv("AUTOGRADER_SEED", "1")
    with pytest.raises(SettingsError, match="AUTOGRADER_SEED environment variable is no longer used"):
        Course.load(course(tmp_path / "b"))


# ------------------------------------------------------------------ the values: the same as before
def test_the_defaults_are_the_limits_defaults():
    harness = Harness.from_config(Config(), environ={})
    assert _limits(harness) == Limits()
    assert {f.name for f in dataclasses.fields(Limits)} <= set(Harness.settings())
    for field in dataclasses.fields(Limits):
        default = Harness.settings()[field.name].default()
        assert (tuple(default) if field.name == "allowed_modules" else default) == field.default, field.name
    assert Limits().allowed_modules == policy.DEFAULT_ALLOWED
    assert harness.jobs == (os.cpu_count() or 1) and harness.scheduler is None


def test_this_repositorys_settings_load_as_before():
    loaded = Course.load(REPO)
    expected = {k: (REPO / v if k in ("source", "release", "submitted", "autograded", "feedback") else v)
                for k, v in BEFORE_REPO.items()}
    expected["db_url"] = expected["db_url"].format(root=REPO)
    assert {k: getattr(loaded, k) for k in expected} == expected
    assert loaded.jobs == (os.cpu_count() or 1)
    assert where(loaded) == before(REPO)
    assert loaded.harness.jobs == loaded.jobs and isinstance(loaded.limits, Limits)


@pytest.mark.parametrize("lines", [
    (),
    ("c.CourseDirectory.course_id = ' spaced '", "c.CourseDirectory.source_directory = 'masters'",
     "c.CourseDirectory.release_directory = 'out'", "c.CourseDirectory.submitted_directory = 'in'",
     "c.CourseDirectory.autograded_directory = 'graded'", "c.CourseDirectory.feedback_directory = 'fb'",
     "c.CourseDirectory.db_url = 'postgresql+psycopg://grader:secret@dbhost/dlcourse'"),
    ("c.CourseDirectory.feedback_directory = '/srv/feedback'", "c.CourseDirectory.root = '/elsewhere'"),
], ids=["nothing-set", "everything-set", "absolute-and-root"])
def test_where_things_are_comes_from_nbgraders_course_directory_as_before(tmp_path, lines):
    root = course(tmp_path, *lines)
    loaded = Course.load(root)
    expected = before(root)
    expected["course_id"] = expected["course_id"].strip()  # nbgrader strips it (and says so): the only difference
    assert where(loaded) == expected
    if not lines:
        assert where(loaded) == {"course_id": "course", **{name: root / name for name in (
            "source", "release", "submitted", "autograded", "feedback")}, "db_url": f"sqlite:///{root}/gradebook.db"}


def test_a_setting_reaches_the_limits_and_the_course(tmp_path):
    root = course(tmp_path, "c.Harness.memory_mb = 512", "c.Harness.function_s = 5", "c.Harness.jobs = 3",
                  "c.Harness.scheduler = 'tcp://grader-1:8786'", "c.Harness.allowed_modules = ['numpy', 'scipy']")
    loaded = Course.load(root)
    assert loaded.limits == Limits(memory_mb=512, function_s=5.0, allowed_modules=("numpy", "scipy"))
    assert (loaded.jobs, loaded.scheduler) == (3, "tcp://grader-1:8786")
    assert Course.load(course(tmp_path / "empty", "c.Harness.scheduler = ''")).scheduler is None


# ------------------------------------------------------------------ the environment's overrides
def test_the_environment_overrides_the_file(tmp_path, monkeypatch):
    root = course(tmp_path, "c.Harness.sandbox = 'bwrap'", "c.Harness.trusted_submissions = False")
    assert Course.load(root).limits.sandbox == "bwrap"
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "rlimits")
    monkeypatch.setenv("AUTOGRADER_TRUSTED_SUBMISSIONS", "1")
    limits = Course.load(root).limits
    assert (limits.sandbox, limits.trusted_submissions) == ("rlimits", True)
    for off in ("0", "false"):
        monkeypatch.setenv("AUTOGRADER_TRUSTED_SUBMISSIONS", off)
        assert Course.load(root).limits.trusted_submissions is False
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "")  # empty: not set
    monkeypatch.setenv("AUTOGRADER_TRUSTED_SUBMISSIONS", "")
    limits = Course.load(course(tmp_path / "trusted", "c.Harness.trusted_submissions = True")).limits
    assert (limits.sandbox, limits.trusted_submissions) == ("auto", True)


def test_an_environment_value_not_allowed_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "docker")
    with pytest.raises(SettingsError) as refused:
        Course.load(course(tmp_path))
    assert "AUTOGRADER_SANDBOX='docker'" in str(refused.value)
    assert "c.Harness.sandbox must be one of 'auto', 'bwrap', 'unshare', 'rlimits'" in str(refused.value)


def test_the_student_edition_loads_without_the_grader(tmp_path, monkeypatch):
    """The edition ships config.py without grading/limits.py: the settings are still checked, limits are None."""
    monkeypatch.setitem(__import__("sys").modules, "autograder.grading.limits", None)  # import fails
    loaded = Course.load(course(tmp_path, "c.Harness.memory_mb = 512"))
    assert loaded.limits is None and loaded.harness.memory_mb == 512
    with pytest.raises(SettingsError, match="memroy_mb"):
        Course.load(course(tmp_path / "misspelt", "c.Harness.memroy_mb = 512"))


# ------------------------------------------------------------------ one help text: the command line, the docs
def test_the_autograde_options_take_their_help_and_check_from_the_traits(capsys):
    parser = cli.build_parser()
    autograde = next(a for a in parser._actions if a.dest == "command").choices["autograde"]
    options = {a.dest: a for a in autograde._actions if a.dest in Harness.settings()}
    assert set(options) == {"jobs", "scheduler", "sandbox", "setup_s", "function_s", "memory_mb", "cpu_s"}
    for name, action in options.items():
        assert action.help.startswith(Harness.settings()[name].help), name
    assert list(options["sandbox"].choices) == ["auto", "bwrap", "unshare", "rlimits"]
    args = parser.parse_args(["autograde", "ps1", "--memory-mb", "512", "--setup-s", "12.5", "--sandbox", "rlimits"])
    assert (args.memory_mb, args.setup_s, args.sandbox, args.cpu_s) == (512, 12.5, "rlimits", None)
    for wrong in (["--memory-mb", "-5"], ["--cpu-s", "1.5"], ["--function-s", "0"], ["--jobs", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["autograde", "ps1", *wrong])
        assert f"c.Harness.{wrong[0][2:].replace('-', '_')} must be" in capsys.readouterr().err


def test_the_settings_command_prints_every_setting(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))  # main() puts the venv first
    monkeypatch.chdir(course(tmp_path, "c.Harness.memory_mb = 512"))
    assert cli.main(["settings"]) == 0
    out = capsys.readouterr().out
    for name, trait in Harness.settings().items():
        block = out.split(f"c.Harness.{name} = <", 1)[1].split("\nc.Harness.", 1)[0]
        assert " ".join(trait.help.split()) in " ".join(block.split()), name
        assert "Default: " in block and "This course: " in block, name
    assert "This course: 512" in out and "Default: 2048" in out and "AUTOGRADER_SANDBOX" in out
    assert "For one run: autograde --memory-mb" in out


def test_docs_settings_md_is_up_to_date(capsys, monkeypatch):
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    assert cli.main(["settings", "--markdown"]) == 0
    generated = capsys.readouterr().out
    assert generated == settings_markdown(cli._setting_flags())
    assert all(f"## {name}\n" in generated for name in Harness.settings())
    path = REPO / "docs" / "settings.md"
    assert path.exists() and path.read_text() == generated, (
        "docs/settings.md is out of date with the Harness traits (autograder/config.py): regenerate it with "
        "`.venv/bin/python -m autograder settings --markdown > docs/settings.md`")
