"""Shared fixtures: throw-away course folders made from the repository's own files.

The problem sets are released once per test run into a template course (nbgrader's
``generate_assignment`` fills its gradebook); each test that needs a course copies it.
"""
from __future__ import annotations

import atexit
import contextlib
import fnmatch
import json
import os
import signal
import socket
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
# nbgrader runs alembic as a program: this environment's tools must be on PATH
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
# Every submission the tests grade is the course's own (samples, planted bugs, attacks), so grading goes on where
# the sandbox could read the masters (it says so); tests/test_exposure.py grades without this and sees the refusal.
os.environ["AUTOGRADER_TRUSTED_SUBMISSIONS"] = "1"
_TEMPLATE: list[Path] = []
EXECUTED_LECTURES: dict = {}
"""{lecture name: the notebook as tests/test_notebooks_execute.py executed it}, for tests/test_site.py."""


def _template() -> Path:
    """A course with this repo's config and masters, every problem set released (once per run)."""
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="course-template-"))
        atexit.register(shutil.rmtree, folder, True)
        shutil.copy(REPO / "nbgrader_config.py", folder / "nbgrader_config.py")
        shutil.copytree(REPO / "solutions", folder / "solutions")
        run = subprocess.run([sys.executable, "-m", "autograder", "release"], cwd=folder, capture_output=True,
                             text=True, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        _TEMPLATE.append(folder)
    return _TEMPLATE[0]


def make_course(folder: Path, released: bool = True) -> Path:
    """A course folder with this repo's config and masters, the committed releases and (by default)
    a gradebook that knows them, as after `python -m autograder release`."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions", folder / "solutions")
    shutil.copytree(REPO / "assignments", folder / "assignments")
    if released:
        shutil.copy(_template() / "gradebook.db", folder / "gradebook.db")
    return folder


def submit(course_root: Path, problem_set: str, student: str, notebook) -> Path:
    """Put a submission where nbgrader's collect would: submitted/<student>/<ps>/<ps>.ipynb."""
    folder = course_root / "submitted" / student / problem_set
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{problem_set}.ipynb"
    if isinstance(notebook, bytes):
        path.write_bytes(notebook)
    else:
        nbformat.write(notebook, path)
    return path


# ------------------------------------------------------------------ tiers (docs/testing.md)
# Every test has exactly one tier, set here from what it uses (the heaviest thing it starts):
#   unit       pure functions in this process: no subprocess, no sandbox, no kernel, no network; each fast
#   sandbox    grades code through the sandboxed child process (a Grader, instructor.autograde in this process)
#   notebooks  runs Jupyter or nbgrader: a kernel, nbconvert's execution, nbgrader's release (the released course
#              that make_course/template give) and its gradebook
#   system     whole commands end to end: the CLI as a subprocess, the demo, JupyterLab, the hub, PostgreSQL, a
#              browser, a Dask cluster, pip
# `make test-fast` runs `-m unit`. A module has one tier, or a default and the tests that differ: by function name,
# or by function name and a pattern of the parameters' id ("test_f[*-train_*]", fnmatch), which comes first.
# A test module missing here fails the collection: a new file says where its tests belong.
TIERS = ("unit", "sandbox", "notebooks", "system")
MODULE_TIERS: dict[str, str | tuple[str, dict[str, str]]] = {
    "test_adversarial.py": "system",
    "test_benchmarks.py": "unit",
    "test_browser.py": "system",
    "test_collect.py": ("sandbox", {
        "test_collect_from_a_folder_reports_unknown_missing_and_corrupt": "notebooks",
        "test_collect_from_a_zip_and_recollect_keeps_the_old_copy": "notebooks",
        "test_collect_refuses_oversized_and_ambiguous": "notebooks",
        "test_user_errors_are_clear": "notebooks",
        "test_autograde_never_regenerates_a_missing_release": "notebooks"}),
    "test_config.py": "unit",
    "test_compare.py": ("unit", {"test_adam_with_eps_inside_the_root_is_reported_where_it_starts": "sandbox"}),
    "test_control.py": ("sandbox", {
        "test_the_way_to_a_path_is_checked_for_the_sandbox_user": "unit",
        "test_a_sandbox_that_cannot_start_records_nothing": "system",
        "test_a_broken_provided_cell_in_the_master_refuses_the_run": "system",
        "test_unshare_grades_a_course_kept_in_a_private_folder": "system"}),
    "test_dask.py": ("system", {"test_a_workers_result_is_read_as_bounded_plain_data": "unit",
                                "test_a_worker_without_a_sandbox_refuses": "unit"}),
    "test_demo.py": "system",
    "test_docs.py": "unit",
    "test_devices.py": ("sandbox", {"test_largest_differences_per_function": "unit",
                                    "test_without_a_gpu_the_cuda_check_fails_and_says_why": "unit"}),
    "test_drivers.py": "unit",
    "test_exchange.py": ("system", {"test_the_assignment_list_finds_the_exchange_from_the_students_folder":
                                    "notebooks"}),
    "test_export.py": ("notebooks", {"test_the_cli_and_its_errors": "system"}),
    "test_exposure.py": "system",
    "test_grading.py": ("sandbox", {
        "test_cli_autograde_on_the_standard_layout": "system",
        "test_selfcheck_sweeps_the_visible_and_fresh_seeds": "system",
        "test_an_added_cell_keeps_imports_definitions_and_constants_each_guarded": "unit"}),
    "test_hub.py": "system",
    "test_imports.py": ("sandbox", {"test_only_the_torch_function_is_allowed_more_than_numpy": "unit"}),
    "test_lab.py": ("system", {"test_students_copies_never_overwrite_their_work": "unit",
                               "test_root_gets_allow_root": "unit"}),
    "test_layout.py": ("unit", {"test_samples_are_not_installed_for_students": "system",
                                "test_a_new_problem_set_is_one_folder": "system"}),
    "test_lecture_guard.py": "notebooks",
    "test_limits.py": ("sandbox", {"test_deadlines_only_shrink": "unit"}),
    "test_misconceptions.py": ("unit", {
        "test_planted_bug_gets_its_explanation": "sandbox",
        "test_no_explanation_that_does_not_apply": "sandbox",
        # a training function's variant and visible check train a model on every case (up to 3.5 s a test; 38 s
        # of the 47 s these three took together): they run beside the grading of the same misconceptions
        "test_variant_differs_from_the_reference[*-train_*]": "sandbox",
        "test_visible_check_names_the_same_mistake[*-train_*]": "sandbox",
        "test_visible_check_of_the_master_names_no_mistake[*-train_*]": "sandbox"}),
    "test_notebooks_execute.py": ("notebooks", {"test_the_release_check_catches_what_it_should": "unit"}),
    "test_postgres.py": "system",
    "test_publish.py": "system",
    "test_redefinition.py": "notebooks",
    "test_references.py": "unit",
    "test_registry.py": "unit",
    "test_release.py": ("unit", {"test_committed_release_equals_a_fresh_generation": "notebooks"}),
    "test_seeds.py": ("sandbox", {"test_no_grading_seed_is_under_version_control": "system",  # asks git
                                  "test_a_seed_in_the_settings_is_refused_with_the_reason": "system",
                                  "test_a_run_can_be_repeated_with_its_seed": "system"}),
    "test_similarity.py": ("unit", {"test_the_command_and_the_class_report": "system",
                                    "test_a_class_without_submissions_says_so": "system",
                                    "test_the_benchmark_finds_its_planted_copies": "system"}),
    "test_site.py": ("notebooks", {"test_the_solution_check_would_see_a_leak": "unit",
                                   "test_the_index_shows_the_weeks_from_the_data": "unit",
                                   "test_the_weeks_table_command_rewrites_the_readme_table_and_nothing_else": "unit"}),
    "test_site_offline.py": "system",
    "test_speed.py": ("sandbox", {"test_calibrate_gives_the_multiple_of_the_masters_time_and_never_less_than_the_floor":
                                  "unit",
                                  "test_the_control_run_calibrates_the_budget": "system"}),
    "test_untrusted.py": "unit",
}


def tier_of(item) -> str:
    """The tier of one collected test, from MODULE_TIERS; a collection error where it has none or a stale entry."""
    module = item.path.name
    if module not in MODULE_TIERS:
        raise pytest.UsageError(f"{module} has no tier: add it to MODULE_TIERS in tests/conftest.py "
                                f"({', '.join(TIERS)}; see docs/testing.md)")
    entry = MODULE_TIERS[module]
    default, exceptions = (entry, {}) if isinstance(entry, str) else entry
    stale = [key for key in exceptions if not hasattr(item.module, key.split("[")[0])]
    if stale:
        raise pytest.UsageError(f"MODULE_TIERS names tests that {module} does not have: {stale}")
    function = getattr(item, "originalname", item.name)
    parameters = item.callspec.id if hasattr(item, "callspec") else None
    by_parameters = [tier for key, tier in exceptions.items() if "[" in key and parameters is not None
                     and key.split("[")[0] == function and fnmatch.fnmatchcase(parameters, key.split("[", 1)[1][:-1])]
    tier = by_parameters[0] if by_parameters else exceptions.get(function, default)
    if tier not in TIERS:
        raise pytest.UsageError(f"{item.nodeid}: unknown tier {tier!r}")
    return tier


@pytest.hookimpl(tryfirst=True)  # before -m deselects on the markers set here
def pytest_collection_modifyitems(config, items):
    """Each test gets its tier's marker (exactly one: a tier marker written on a test is refused). With
    AUTOGRADER_SANDBOX naming a mode this machine cannot give (unshare without root, bwrap not installed),
    every test skips, saying why, instead of failing on the machine's account."""
    for item in items:
        written = [mark.name for mark in item.iter_markers() if mark.name in TIERS]
        if written:
            raise pytest.UsageError(f"{item.nodeid} is marked {written} by hand: tiers are set in "
                                    "tests/conftest.py (MODULE_TIERS) only")
        item.add_marker(getattr(pytest.mark, tier_of(item)))

    from autograder.grading import isolation

    wanted = os.environ.get("AUTOGRADER_SANDBOX") or "auto"
    try:
        isolation.detect(wanted)
    except RuntimeError as error:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=f"AUTOGRADER_SANDBOX={wanted}: {error}"))


@contextlib.contextmanager
def _no_process_in_a_unit_test(item):
    """While a unit test runs (its fixtures included), starting a process fails it: it belongs to another tier."""
    if item.get_closest_marker("unit") is None:
        yield
        return
    started: list[str] = []
    real = subprocess.Popen._execute_child

    def refuse(self, args, *rest, **kwargs):
        started.append(" ".join(map(str, args)) if isinstance(args, (list, tuple)) else str(args))
        raise RuntimeError(f"a unit test may not start a process: {started[-1][:200]}")

    subprocess.Popen._execute_child = refuse
    try:
        yield
    finally:
        subprocess.Popen._execute_child = real
        if started:
            pytest.fail(f"{item.nodeid} is in the unit tier but starts a process ({started[0][:200]}): give it "
                        "its tier in MODULE_TIERS (tests/conftest.py)", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    with _no_process_in_a_unit_test(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    with _no_process_in_a_unit_test(item):
        return (yield)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def template() -> Path:
    return _template()


def read(path: Path):
    return nbformat.read(path, as_version=4)


@pytest.fixture(scope="session")
def notebooks():
    """(master, release) notebooks of each problem set."""
    from autograder.registry import PROBLEM_SET_NAMES

    return {name: (read(REPO / "solutions" / name / f"{name}.ipynb"),
                   read(REPO / "assignments" / name / f"{name}.ipynb")) for name in PROBLEM_SET_NAMES}


# ------------------------------------------------------------------ servers the tests start (JupyterLab, JupyterHub)
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(root: Path, home: Path, port: int, token: str, log: Path) -> subprocess.Popen:
    """`python -m autograder lab` on ``root``, with a PATH that lacks the venv (as a new user's shell has), in its own
    process group (stop it with ``stop_group``)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "JUPYTER_TOKEN": token,
           "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"), "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime")}
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "autograder", "lab", "--port", str(port), "--no-browser"],
                                cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_group(process: subprocess.Popen, seconds: float = 30) -> None:
    """SIGTERM to the process group we started, then SIGKILL if it is still there after ``seconds``."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def formgrader_assignments(port: int, token: str, process: subprocess.Popen, log: Path,
                           seconds: float = 90) -> dict[str, dict]:
    """Formgrader's list of assignments, as its page asks for it on the first visit: {name: assignment}."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/formgrader/api/assignments",
                                             headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=10) as response:
                body = json.loads(response.read())
            return {a["name"]: a for a in (body["value"] if isinstance(body, dict) and "value" in body else body)}
        except OSError:
            time.sleep(1)
    pytest.fail(f"Formgrader did not answer:\n{log.read_text()[-3000:]}")
