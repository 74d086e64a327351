"""The course in a real browser: Playwright drives Debian's Chromium against the JupyterLab that `make lab` starts.

One JupyterLab (on a free loopback port, stopped by its PID) serves a fresh copy of the course. In order:

1. a lecture runs with Run → Run All Cells, every code cell executes and none shows an error;
2. moving a slider redraws the plot below it;
3. Validate on the student's copy of ps1 names every unimplemented function;
4. the Assignment List fetches ps1 from the exchange, and submits it (solved in between);
5. the instructor collects and autogrades it from the command line, and Formgrader lists ps1, ps2 and the
   submission with its score.

Tracked files (the copy's lectures, releases, masters and config) stay unchanged. A screenshot of each step goes
to build/browser-test/ (git-ignored). The test skips, saying why, where Playwright or Chromium is missing: `.ci/run`
installs Debian's ``chromium`` when it runs as root; Playwright's own browser download is never used.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import get_username
from conftest import free_port, make_course, start_lab, stop_group
from test_lab import digests

from autograder import instructor
from autograder.authoring import samples
from autograder.config import Course
from autograder.registry import get_problem_set

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "build" / "browser-test"
TOKEN = "browser-test-token"
LECTURE = "01_perceptron.ipynb"       # quick to run, and its first slider redraws a figure
BIN = Path(sys.executable).parent

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')")


def chromium() -> str | None:
    """Debian's Chromium (or AUTOGRADER_CHROMIUM): the system browser, never one Playwright downloads."""
    for candidate in (os.environ.get("AUTOGRADER_CHROMIUM"), "chromium", "chromium-browser"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    return None


pytestmark = pytest.mark.skipif(chromium() is None, reason="no Chromium on this machine: `apt-get install chromium` "
                                                           "(.ci/run does it as root), or set AUTOGRADER_CHROMIUM")


def wait_for_http(url: str, process: subprocess.Popen, log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=10):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer {url} in {seconds:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A fresh course (releases in the gradebook, ps1 published to the exchange) and `python -m autograder lab` on
    it, started with a PATH that lacks the venv, as a new user's shell would."""
    tmp = tmp_path_factory.mktemp("browser")
    root = make_course(tmp / "course")                  # as after `release`: the gradebook knows the releases
    shutil.copytree(REPO / "course", root / "course")
    course = Course.load(root)
    instructor.release_to_exchange(course, "ps1")
    before = digests(root) | {"nbgrader_config.py": (root / "nbgrader_config.py").read_text()}
    port, log = free_port(), tmp / "lab.log"
    process = start_lab(root, tmp, port, TOKEN, log)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/api/status?token={TOKEN}", process, log)
        yield {"root": root, "base": base, "log": log, "course": course}
    finally:
        stop_group(process)
    after = digests(root) | {"nbgrader_config.py": (root / "nbgrader_config.py").read_text()}
    assert after == before, "a tracked file changed"


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    args = ["--no-sandbox"] if os.geteuid() == 0 else []     # Chromium's own sandbox refuses to run as root
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium(), args=args)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    yield page
    page.screenshot(path=str(SHOTS / f"{request.node.name}-end.png"))
    context.close()


def open_in_lab(page, lab, path: str = "") -> None:
    """JupyterLab on a fresh workspace (``reset``: nothing from earlier tests is restored), then, as a student does,
    the file browser: from the top folder, double-click each folder and the notebook of ``path``."""
    page.goto(f"{lab['base']}/lab?reset&token={TOKEN}")
    page.wait_for_selector(".jp-DirListing-content")
    if not path:
        return
    page.locator(".jp-BreadCrumbs-home").first.click()
    *folders, notebook = path.split("/")
    for depth, name in enumerate([*folders, notebook]):
        here = "/".join(folders[:depth])
        page.wait_for_function("here => document.querySelector('.jp-BreadCrumbs').innerText.replace(/[\\s/]+/g, '/')"
                               ".replace(/^\\/|\\/$/g, '') === here", arg=here)
        text = page.locator(".jp-DirListing-itemText").get_by_text(name, exact=True)
        page.locator(".jp-DirListing-item").filter(has=text).first.dblclick()
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    wait_for_one_kernel(lab, path)


def wait_for_one_kernel(lab, path: str, steady_s: float = 2.0) -> None:
    """Until the notebook has one session whose kernel is idle and stays the same for ``steady_s``: a fresh server
    sometimes starts a notebook's kernel twice and shuts the first down, and a Run All sent to that one is lost."""
    deadline, seen, since = time.monotonic() + 120, None, time.monotonic()
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{lab['base']}/api/sessions?token={TOKEN}", timeout=10) as response:
            sessions = [s for s in json.loads(response.read()) if s.get("path") == path]
        current = (sessions[0]["kernel"]["id"], sessions[0]["kernel"]["execution_state"]) if len(sessions) == 1 else None
        if current != seen:
            seen, since = current, time.monotonic()
        elif current and current[1] == "idle" and time.monotonic() - since >= steady_s:
            return
        time.sleep(0.25)
    pytest.fail(f"no steady idle kernel for {path}: {seen}")


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.locator(".lm-Menu-itemLabel").get_by_text(item, exact=True).first.click()


def test_a_lecture_runs_all_and_a_slider_redraws_its_plot(page, lab):
    path = f"work/course/{LECTURE}"
    open_in_lab(page, lab, path)
    menu(page, "Run", "Run All Cells")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='busy']", timeout=30_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    page.screenshot(path=str(SHOTS / "1-run-all.png"))

    slider = page.locator(".widget-slider").first
    slider.scroll_into_view_if_needed()
    plot = slider.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea')][1]").locator("img").first
    before = plot.get_attribute("src")
    slider.locator(".noUi-handle").first.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    deadline = time.monotonic() + 60
    while plot.get_attribute("src") == before and time.monotonic() < deadline:
        time.sleep(0.25)
    assert plot.get_attribute("src") != before, "the plot did not change when the slider moved"
    page.screenshot(path=str(SHOTS / "2-slider.png"))

    page.keyboard.press("Control+s")          # the student's copy (git-ignored), to read what ran
    saved = lab["root"] / path
    deadline = time.monotonic() + 30
    while not any(c.get("execution_count") for c in nbformat.read(saved, as_version=4).cells) \
            and time.monotonic() < deadline:
        time.sleep(0.5)
    cells = [c for c in nbformat.read(saved, as_version=4).cells if c.cell_type == "code"]
    assert all(c.execution_count for c in cells), "Run All stopped before the last cell"
    errors = [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{errors[0].ename}: {errors[0].evalue}"


def test_validate_names_the_unimplemented_functions(page, lab):
    open_in_lab(page, lab, "work/ps1/ps1.ipynb")
    page.locator(".jp-NotebookPanel:visible").get_by_role("button", name="Validate").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    page.wait_for_function("() => !document.querySelector('.jp-Dialog').innerText.includes('Validating')")
    text = dialog.inner_text()
    page.screenshot(path=str(SHOTS / "3-validate.png"))
    for name in (fn.name for fn in get_problem_set("ps1").functions):
        assert f"{name} is not implemented yet" in text, text[:2000]


def test_the_assignment_list_fetches_and_submits_and_formgrader_lists_the_submission(page, lab):
    root, course = lab["root"], lab["course"]
    open_in_lab(page, lab)
    menu(page, "Nbgrader", "Assignment List")
    released = page.locator("#released_assignments_list")
    released.get_by_role("button", name="Fetch").click()
    downloaded = page.locator("#fetched_assignments_list")
    downloaded.get_by_role("button", name="Submit").wait_for()
    page.screenshot(path=str(SHOTS / "4a-fetched.png"))

    fetched = root / "work" / course.course_id / "ps1" / "ps1.ipynb"
    master = nbformat.read(course.master("ps1"), as_version=4)
    nbformat.write(samples.full_solution(master, nbformat.read(fetched, as_version=4)), fetched)  # the student's work
    downloaded.get_by_role("button", name="Submit").click()
    submitted = page.locator("#submitted_assignments_list")
    submitted.get_by_text("ps1").first.wait_for()
    page.screenshot(path=str(SHOTS / "4b-submitted.png"))

    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for step in (["collect", "ps1"], ["autograde", "ps1"]):
        run = subprocess.run([sys.executable, "-m", "autograder", *step], cwd=root, env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr

    open_in_lab(page, lab)
    menu(page, "Nbgrader", "Formgrader")
    formgrader = page.frame_locator("iframe").first
    table = formgrader.locator("table").first
    table.get_by_text("ps2", exact=True).wait_for()
    rows = {r.split("\t")[0]: r.split("\t") for r in table.inner_text().splitlines()}
    assert "ps1" in rows and "ps2" in rows, rows
    page.screenshot(path=str(SHOTS / "5a-formgrader.png"))
    page.goto(f"{lab['base']}/formgrader/manage_submissions/ps1?token={TOKEN}")
    row = page.locator("tr").filter(has=page.get_by_text(get_username(), exact=True))
    row.first.wait_for()
    page.screenshot(path=str(SHOTS / "5b-submissions.png"))
    points = sum(fn.points for fn in get_problem_set("ps1").functions)      # every autograded point, none by hand yet
    assert re.search(rf"\b{points} / \d+\b", row.first.inner_text()), row.first.inner_text()
