"""The course on JupyterHub (hub/jupyterhub_config.py) with two real Linux users, in a real browser.

The test creates two student accounts and an instructor account, a course folder owned by the instructor (closed
to others, as docs/instructors.md says) and a shared exchange, and starts the hub (LocalProcessSpawner,
configurable-http-proxy from npm) on a free loopback port. Then:

1. the instructor releases ps1 into the shared exchange (`python -m autograder release ps1`, as that user);
2. each student logs in, fetches ps1 from the Assignment List, solves it and submits it; Formgrader is not there
   for a student (404);
3. the instructor collects and autogrades both (as that user), logs in and opens Formgrader in its own tab (the
   hub forbids framing it, nbgrader #1870), which lists each submission with its score;
4. the second student tries to read the first one's work: through JupyterLab's file API (the Contents API of their
   own server, with a path that climbs out of their home), and with code run as that student (what a JupyterLab
   terminal or kernel does): the first student's notebook in their home, the exchange's inbound folder, the
   course's masters, submissions and gradebook, and every readable file under the test's folders and /tmp that
   holds a marker only the first student's solution contains. None of it may be readable.

It needs root (to create the users and let the hub start their servers), JupyterHub, configurable-http-proxy
(`make hub-deps`; `.ci/run` installs it), Chromium with Playwright, and a Python that the new users can run; it skips,
saying which is missing, otherwise. The accounts, their processes and files are removed at the end.
"""
from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import free_port, make_course, stop_group
from test_browser import chromium, wait_for_http

from autograder.authoring import samples
from autograder.config import Course
from autograder.registry import get_problem_set

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SHOTS = REPO / "build" / "browser-test"
PASSWORD = secrets.token_hex(8)
SBIN = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
RUNUSER, USERADD, USERDEL = (shutil.which(tool, path=SBIN) for tool in ("runuser", "useradd", "userdel"))


def proxy() -> str | None:
    local = BIN.parent / "node_modules" / ".bin" / "configurable-http-proxy"
    return str(local) if local.exists() else shutil.which("configurable-http-proxy")


def missing() -> str | None:
    """Why the test cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root: it creates two Linux users and the hub starts their servers as them"
    if None in (RUNUSER, USERADD, USERDEL):
        return "no runuser, useradd or userdel on this machine"
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        return "JupyterHub is not installed (pip install -e '.[hub]')"
    if proxy() is None:
        return "configurable-http-proxy is not installed (make hub-deps: npm install into the venv)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed"
    if chromium() is None:
        return "no Chromium on this machine (apt-get install chromium)"
    probe = subprocess.run([RUNUSER, "-u", "nobody", "--", sys.executable, "-c", "import autograder, jupyterhub"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return (f"other users cannot run this Python ({sys.executable}): a folder above it is closed to them "
                f"(e.g. /root, mode 700); put the interpreter and the venv where every user can read them")
    return None


pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))


def as_user(user: str, *argv: str, cwd: Path, timeout: float = 300) -> str:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": pwd.getpwnam(user).pw_dir, "USER": user, "LANG": "C.UTF-8"}
    run = subprocess.run([RUNUSER, "-u", user, "--", *argv], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    assert run.returncode == 0, f"{' '.join(argv)} as {user}:\n{run.stdout}\n{run.stderr}"
    return run.stdout + run.stderr


@pytest.fixture
def accounts():
    """Two fresh Linux users (homes in a throw-away folder), removed with everything they own at the end."""
    base = Path(f"/tmp/dlc-hub-{secrets.token_hex(4)}")
    (base / "home").mkdir(parents=True)
    base.chmod(0o755)
    (base / "home").chmod(0o755)
    suffix = secrets.token_hex(3)
    users = {"student": f"dlcs{suffix}", "student2": f"dlct{suffix}", "instructor": f"dlci{suffix}"}
    try:
        for name in users.values():
            subprocess.run([USERADD, "-m", "-d", str(base / "home" / name), "-s", "/bin/bash", name], check=True)
        yield base, users
    finally:
        for name in users.values():
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        time.sleep(0.5)
        for name in users.values():
            subprocess.run([USERDEL, "-r", name], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_two_students_submit_through_the_hub_the_instructor_grades_them_and_neither_reads_the_other(
        accounts, tmp_path):
    base, users = accounts
    student, student2, instructor = users["student"], users["student2"], users["instructor"]
    exchange = base / "exchange"
    exchange.mkdir()
    exchange.chmod(0o1777)
    course = make_course(base / "course")
    with open(course / "nbgrader_config.py", "a") as f:      # what docs/instructors.md says to set on a shared server
        f.write(f'\nc.Exchange.root = "{exchange}"\n')
    (course / "roster.csv").write_text(f"id,first_name,last_name,email\n{student},Sam,Student,sam@example.org\n"
                                       f"{student2},Tia,Student,tia@example.org\n")
    subprocess.run(["chown", "-R", f"{instructor}:{instructor}", str(course)], check=True)
    course.chmod(0o700)                                      # docs/instructors.md: readable by the instructors only
    as_user(instructor, sys.executable, "-m", "autograder", "release", "ps1", cwd=course)

    port = free_port()
    hub_config = tmp_path / "test_hub_config.py"
    hub_config.write_text(
        f'load_subconfig("jupyterhub_config.py", path={str(REPO / "hub")!r})\n'
        f'c.JupyterHub.authenticator_class = "dummy"\n'
        f'c.DummyAuthenticator.password = {PASSWORD!r}\n')
    env = {**os.environ, "PATH": f"{BIN}:/usr/bin:/bin", "DLCOURSE_DIR": str(course), "DLCOURSE_INSTRUCTORS": instructor,
           "DLCOURSE_HUB_URL": f"http://127.0.0.1:{port}", "DLCOURSE_HUB_STATE": str(tmp_path / "state")}
    log = tmp_path / "hub.log"
    with open(log, "w") as out:
        hub = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(hub_config)], cwd=tmp_path, env=env, stdout=out,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base_url}/hub/api", hub, log)
        from playwright.sync_api import sync_playwright

        SHOTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
            marker = f"only-{student}-wrote-this-{secrets.token_hex(6)}"
            page = fetch_solve_submit(browser, base_url, student, course, log, marker)
            page.screenshot(path=str(SHOTS / "hub-1-student-submitted.png"))
            menu_items = page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first
            menu_items.click()
            assert page.locator(".lm-Menu-itemLabel").get_by_text("Formgrader", exact=True).count() == 0
            page.keyboard.press("Escape")
            response = page.goto(f"{base_url}/user/{student}/formgrader")
            assert response.status == 404, f"a student reached Formgrader: {response.status}"
            page2 = fetch_solve_submit(browser, base_url, student2, course, log, f"{student2}-own-work")

            as_user(instructor, sys.executable, "-m", "autograder", "collect", "ps1", cwd=course)
            as_user(instructor, sys.executable, "-m", "autograder", "autograde", "ps1", cwd=course)

            page = log_in(browser, base_url, instructor, log)
            page.goto(f"{base_url}/user/{instructor}/formgrader/manage_submissions/ps1")
            points = sum(fn.points for fn in get_problem_set("ps1").functions)
            for who in (student, student2):
                row = page.locator("tr").filter(has=page.get_by_text(who, exact=True))
                try:
                    row.first.wait_for(timeout=60_000)
                finally:
                    page.screenshot(path=str(SHOTS / "hub-2-instructor-formgrader.png"))
                assert re.search(rf"\b{points} / \d+\b", row.first.inner_text()), row.first.inner_text()

            # the second student, through JupyterLab's file API: nothing outside their own home
            course_id = Course.load(course).course_id
            for path in (f"../{student}/{course_id}/ps1/ps1.ipynb", f"..%2F{student}%2F{course_id}%2Fps1",
                         f"%2E%2E/{student}", str(course / "solutions" / "ps1" / "ps1.ipynb")):
                reply = page2.request.get(f"{base_url}/user/{student2}/api/contents/{path}",
                                          headers={"X-XSRFToken": xsrf(page2)})
                assert reply.status in (400, 403, 404), (path, reply.status, reply.text()[:300])
            # ... and with code run as that student, as their terminal or a kernel would
            home = Path(pwd.getpwnam(student).pw_dir)
            report = as_user(student2, sys.executable, "-c", PRYING, str(home / course_id / "ps1" / "ps1.ipynb"),
                             str(home), str(exchange), str(course), str(base), marker, cwd=Path("/"))
            assert report.strip().splitlines()[-1] == "nothing readable", report
            browser.close()
    finally:
        stop_group(hub)


PRYING = r"""
import os, sys
notebook, home, exchange, course, base, marker = sys.argv[1:]
found = []
def readable(path):
    try:
        with open(path, "rb") as f:
            return f.read(20 * 2 ** 20)
    except OSError:
        return None
def listable(path):
    try:
        return os.listdir(path)
    except OSError:
        return None
for path in (notebook, os.path.join(course, "solutions", "ps1", "ps1.ipynb"), os.path.join(course, "gradebook.db"),
             os.path.join(course, "roster.csv")):
    if readable(path) is not None:
        found.append("read " + path)
for folder in (home, course) + tuple(os.path.join(r, d) for r, ds, _ in os.walk(exchange) for d in ds
                                   if d == "inbound"):
    if listable(folder) is not None:
        found.append("listed " + folder)
for folder in (base, "/tmp"):
    for root, dirs, files in os.walk(folder):
        for name in files:
            data = readable(os.path.join(root, name))
            if data and marker.encode() in data:
                found.append("found the marker in " + os.path.join(root, name))
print("\n".join(found) if found else "nothing readable")
"""


def xsrf(page) -> str:
    """The _xsrf cookie of the page's context (JupyterLab's API calls send it as a header)."""
    return next((c["value"] for c in page.context.cookies() if c["name"] == "_xsrf"), "")


def fetch_solve_submit(browser, base_url: str, user: str, course: Path, log: Path, marker: str):
    """The user logs in, fetches ps1 from the Assignment List, solves it (the master's answers, with ``marker`` in
    a comment) and submits it; the page, once the submission is listed."""
    page = log_in(browser, base_url, user, log)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Assignment List", exact=True).first.click()
    page.locator("#released_assignments_list").get_by_role("button", name="Fetch").click()
    downloaded = page.locator("#fetched_assignments_list")
    downloaded.get_by_role("button", name="Submit").wait_for()
    home = Path(pwd.getpwnam(user).pw_dir)
    fetched = home / Course.load(course).course_id / "ps1" / "ps1.ipynb"
    master = nbformat.read(course / "solutions" / "ps1" / "ps1.ipynb", as_version=4)
    solved = samples.full_solution(master, nbformat.read(fetched, as_version=4))
    first = next(c for c in solved.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"))
    first.source += f"\n# {marker}\n"
    nbformat.write(solved, fetched)
    shutil.chown(fetched, user, user)
    downloaded.get_by_role("button", name="Submit").click()
    page.locator("#submitted_assignments_list").get_by_text("ps1").first.wait_for()
    return page


def log_in(browser, base_url: str, user: str, log: Path):
    """A fresh browser context (its own cookies), the hub's login form, then the user's JupyterLab once spawned."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(180_000)
    page.goto(f"{base_url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    try:
        page.wait_for_url(re.compile(rf"/user/{user}/lab"), timeout=180_000)
        page.wait_for_selector(".lm-MenuBar-itemLabel")
    except Exception:
        page.screenshot(path=str(SHOTS / f"hub-login-{user}-failed.png"))
        raise AssertionError(f"{user}'s JupyterLab did not open:\n{log.read_text()[-4000:]}")
    return page


def test_the_prying_check_finds_what_is_left_open(accounts):
    """Control for step 4: a home left at 755, an inbound folder that can be listed and a course folder open to
    all are each reported, and so is the marker wherever it lies."""
    base, users = accounts
    student, student2 = users["student"], users["student2"]
    home = Path(pwd.getpwnam(student).pw_dir)
    home.chmod(0o755)
    marker = f"only-{student}-wrote-this-{secrets.token_hex(6)}"
    notebook = home / "course101" / "ps1" / "ps1.ipynb"
    notebook.parent.mkdir(parents=True)
    notebook.write_text(f'{{"marker": "{marker}"}}')
    inbound = base / "exchange" / "course101" / "inbound"
    inbound.mkdir(parents=True)
    inbound.chmod(0o755)
    course = base / "course"
    (course / "solutions" / "ps1").mkdir(parents=True)
    (course / "solutions" / "ps1" / "ps1.ipynb").write_text("{}")
    for folder in (home / "course101", notebook.parent, base / "exchange", base / "exchange" / "course101", course,
                   course / "solutions", course / "solutions" / "ps1"):
        folder.chmod(0o755)
    report = as_user(student2, sys.executable, "-c", PRYING, str(notebook), str(home), str(base / "exchange"),
                     str(course), str(base), marker, cwd=Path("/"))
    for expected in (f"read {notebook}", f"listed {home}", f"listed {inbound}", f"listed {course}",
                     f"read {course / 'solutions' / 'ps1' / 'ps1.ipynb'}", f"found the marker in {notebook}"):
        assert expected in report, (expected, report)
