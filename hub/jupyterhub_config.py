"""JupyterHub for this course on one Linux server: every student and instructor logs in with their own account.

Start it as root from the course folder (`make hub`; LocalProcessSpawner starts each user's JupyterLab as that
user). What it sets up:

- **Who may log in:** the students of ``roster.csv`` (its ``id`` column holds their Linux user names) and the
  instructors named in ``DLCOURSE_INSTRUCTORS`` (comma-separated user names). Authentication is the server's own
  (PAM: the users' Linux passwords).
- **Two groups and a role.** ``instructors`` get the ``instructor`` role (the hub's admin page and the user list,
  read-only) and a JupyterLab with Formgrader, opened on the course folder. ``students`` get a JupyterLab in their
  home folder without Formgrader and without "Create assignment" (the server extension and the lab plugins are
  disabled by ``hub/student/``); they keep the Assignment List and Validate. ``hub/instructor/`` points
  Formgrader, which reads its configuration from the folder a server starts in (the user's home), at the course.
- **One exchange** for everyone: the folder that the course's ``nbgrader_config.py`` names in ``c.Exchange.root``
  (a shared one, e.g. ``/srv/nbgrader/exchange``, mode 1777). Students' servers get it, with the course id, from
  here, because they cannot read the course folder.
- **Formgrader and JupyterHub 4.1+:** the hub forbids framing a user's server (``frame-ancestors 'none'``), so
  Formgrader's tab inside JupyterLab stays blank (nbgrader #1870, #1947). This configuration keeps that protection:
  instructors open Formgrader in its own browser tab, ``/user/<name>/formgrader``.

- **Privacy between accounts:** the hub refuses to start while the course folder is open to other accounts, and
  closes each user's home to the others (mode 700) before starting their server. In the exchange, nbgrader's
  inbound folder cannot be listed and each submission's folder name ends in a random string.

Settings from the environment: ``DLCOURSE_DIR`` (the course folder; default: this file's parent),
``DLCOURSE_INSTRUCTORS``, ``DLCOURSE_HUB_URL`` (default ``http://127.0.0.1:8000``), ``DLCOURSE_HUB_STATE`` (the hub's
database and cookie secret; default ``<course>/build/hub``).
"""
import os
import pwd
import shutil
import stat
import sys
from pathlib import Path

from autograder.config import Course

c = get_config()  # noqa: F821 (provided by traitlets when JupyterHub loads this file)

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
COURSE = Path(os.environ.get("DLCOURSE_DIR", HERE.parent)).resolve()
STATE = Path(os.environ.get("DLCOURSE_HUB_STATE", COURSE / "build" / "hub"))
STATE.mkdir(parents=True, exist_ok=True)

if COURSE.stat().st_mode & (stat.S_IRWXO):
    # the masters, the gradebook and every student's submission live there: a student's terminal could read them
    raise SystemExit(f"{COURSE} is open to every account on this server (mode {stat.filemode(COURSE.stat().st_mode)}): "
                     f"students could read the masters and each other's submissions from a terminal. Close it to the "
                     f"instructors (chmod 700 {COURSE}, or 750 with the instructors' group) and start the hub again.")
course = Course.load(COURSE)              # the course's own nbgrader_config.py and roster.csv
COURSE_ID = course.course_id
EXCHANGE = course.config.Exchange.get("root", "/usr/local/share/nbgrader/exchange")

INSTRUCTORS = sorted({name.strip() for name in os.environ.get("DLCOURSE_INSTRUCTORS", "").split(",") if name.strip()})
STUDENTS = [name for name in course.students() if name not in INSTRUCTORS]

c.JupyterHub.bind_url = os.environ.get("DLCOURSE_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
# configurable-http-proxy from npm: `make hub` installs it into the venv (npm install --prefix .venv)
proxy = VENV_BIN.parent / "node_modules" / ".bin" / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [str(proxy) if proxy.exists() else shutil.which("configurable-http-proxy")
                                   or "configurable-http-proxy"]

c.Authenticator.allowed_users = set(STUDENTS) | set(INSTRUCTORS)
c.Authenticator.admin_users = set()
c.JupyterHub.load_groups = {"instructors": {"users": INSTRUCTORS}, "students": {"users": STUDENTS}}
c.JupyterHub.load_roles = [{
    "name": "instructor",
    "description": "Course instructors: the hub's admin page and the user list, read-only",
    "scopes": ["self", "admin-ui", "list:users", "read:users"],
    "groups": ["instructors"],
}]

c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120


def close_home(name: str, log) -> None:
    """A user's home folder closed to the other accounts (Debian's useradd leaves it 755 unless HOME_MODE says
    otherwise): a student's fetched and solved notebooks live there, and a classmate's terminal must not read them."""
    try:
        home = Path(pwd.getpwnam(name).pw_dir)
        mode = home.stat().st_mode
    except (KeyError, OSError):
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        home.chmod(stat.S_IMODE(mode) & 0o700)
        log.info("closed %s's home %s to other accounts (was %s)", name, home, stat.filemode(mode))


def pre_spawn_hook(spawner):
    """Instructors: JupyterLab on the course folder, Formgrader included. Students: their home folder, the
    configuration in hub/student/ (no Formgrader, no Create assignment; the exchange and the course id). Every
    user's home is closed to the other accounts first."""
    close_home(spawner.user.name, spawner.log)
    instructor = spawner.user.name in INSTRUCTORS
    spawner.environment.update({
        "PATH": f"{VENV_BIN}{os.pathsep}/usr/local/bin{os.pathsep}/usr/bin{os.pathsep}/bin",
        "DLCOURSE_ID": COURSE_ID,
        "DLCOURSE_EXCHANGE": str(EXCHANGE),
    })
    if instructor:
        spawner.environment.update({"JUPYTER_CONFIG_PATH": str(HERE / "instructor"), "DLCOURSE_DIR": str(COURSE)})
        spawner.notebook_dir = str(COURSE)
    else:
        spawner.environment["JUPYTER_CONFIG_PATH"] = str(HERE / "student")
        spawner.notebook_dir = "~"


c.Spawner.pre_spawn_hook = pre_spawn_hook
