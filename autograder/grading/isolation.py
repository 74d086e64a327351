"""How the student's process is isolated from the grading machine.

Three levels, the best available is used (``c.Harness.sandbox = "auto"``):

``bwrap``    bubblewrap: new PID, network, IPC and UTS namespaces and a minimal read-only
             view of the filesystem (the system libraries, the Python standard library,
             NumPy, and the job folder at /job). The course folder, the masters, the
             gradebook, PyTorch and other students' jobs do not exist in that view.
             As root, the process also drops to the ``nobody`` user with no capabilities.
``unshare``  util-linux unshare + setpriv (root only): new PID, network, IPC and UTS
             namespaces and the ``nobody`` user, but the filesystem is the machine's,
             protected only by file permissions.
``rlimits``  resource limits alone. Student code can read whatever the grader's user
             can read and open network connections. A loud warning is printed.

In every mode the harness sets resource limits, kills the process tree when a run
ends, and checks that nothing survives.
"""
from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import warnings
from dataclasses import dataclass
from pathlib import Path

NOBODY = 65534
MODES = ("bwrap", "unshare", "rlimits")


@dataclass(frozen=True)
class Isolation:
    mode: str
    drop_to_nobody: bool

    @property
    def hides_files(self) -> bool:
        return self.mode == "bwrap"

    @property
    def warning(self) -> str | None:
        if self.mode == "bwrap":
            return None
        if self.mode == "unshare":
            return ("bubblewrap (bwrap) is not installed: student code runs as 'nobody' in its own PID and "
                    "network namespaces, but can read every world-readable file on this machine "
                    "(install bubblewrap to hide the course folder)")
        return ("NO SANDBOX: neither bubblewrap nor (as root) unshare/setpriv is available, so student code "
                "runs with resource limits only, as your user: it can read your files, including the masters "
                "and the gradebook, and open network connections. Install bubblewrap before grading for real.")


def _works(argv: list[str]) -> bool:
    import subprocess

    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


_detected: dict[str, Isolation] = {}


def detect(requested: str = "auto") -> Isolation:
    """The isolation to use; ``requested`` is "auto" or one of MODES (an unavailable one is an error). The
    AUTOGRADER_SANDBOX environment variable, when set, stands in for "auto" (every path: the local pool, Dask
    workers, selfcheck, the demo and the tests)."""
    if requested == "auto":
        requested = os.environ.get("AUTOGRADER_SANDBOX") or "auto"
    if requested in _detected:
        return _detected[requested]
    if requested not in ("auto", *MODES):
        raise ValueError(f"unknown sandbox mode {requested!r}; use auto, {', '.join(MODES)}")
    root = os.geteuid() == 0
    candidates = MODES if requested == "auto" else (requested,)
    chosen = None
    for mode in candidates:
        if mode == "bwrap" and shutil.which("bwrap"):
            if _works(_bwrap_prefix(unshare_user=not root) + ["--proc", "/proc", "--dev", "/dev", "/bin/true"]):
                chosen = Isolation("bwrap", root)
        elif mode == "unshare" and root and shutil.which("unshare") and shutil.which("setpriv"):
            if _works(["unshare", "--pid", "--net", "--fork", "/bin/true"]):
                chosen = Isolation("unshare", True)
        elif mode == "rlimits":
            chosen = Isolation("rlimits", False)
        if chosen:
            break
    if chosen is None:
        raise RuntimeError(f"sandbox mode {requested!r} is not available on this machine")
    if chosen.warning:
        warnings.warn(chosen.warning, RuntimeWarning, stacklevel=2)
    _detected[requested] = chosen
    return chosen


def _bwrap_prefix(unshare_user: bool) -> list[str]:
    argv = ["bwrap", "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid", "--unshare-net",
            "--unshare-uts", "--unshare-cgroup-try"]
    if unshare_user:  # not root: a user namespace lets bwrap build the view without privileges
        argv.append("--unshare-user")
    for path in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/etc/ld.so.cache", "/etc/alternatives"):
        argv += ["--ro-bind-try", path, path]
    return argv


def _hidden_site_dirs() -> list[str]:
    """Site-packages of the base interpreter: other packages (torch...) must not be importable."""
    paths = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_exec_prefix})
    candidates = {paths["purelib"], paths["platlib"], "/usr/lib/python3/dist-packages",
                  f"/usr/local/lib/python{sys.version_info.major}.{sys.version_info.minor}/dist-packages"}
    return sorted(p for p in candidates if os.path.isdir(p))


def python_executable() -> str:
    return os.path.realpath(sys.executable)


def command(isolation: Isolation, job: Path, site_dirs: dict[str, Path],
            site_folder: Path | None = None) -> tuple[list[str], str, list[str]]:
    """(argv, job folder as the child sees it, import path as the child sees it). ``site_dirs``: the packages the
    child may import ({name: real path}); without bubblewrap they are reached through ``site_folder``."""
    python = python_executable()
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--no-new-privs",
            "--inh-caps=-all", "--bounding-set=-all"] if isolation.drop_to_nobody else []
    if isolation.mode == "bwrap":
        argv = _bwrap_prefix(unshare_user=os.geteuid() != 0)
        base = sys.base_prefix
        if not base.startswith("/usr/"):
            argv += ["--ro-bind", base, base]
        for hidden in _hidden_site_dirs():
            argv += ["--tmpfs", hidden]
        argv += ["--perms", "0755", "--dir", "/site"]
        for name, path in site_dirs.items():
            argv += ["--ro-bind", str(path), f"/site/{name}"]
        argv += ["--bind", str(job), "/job", "--chdir", "/job", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        if isolation.drop_to_nobody:
            argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        return argv + drop + [python, "-I", "-S", "/job/sandbox/child.py", "/job"], "/job", ["/site"]
    site = site_folder or job.parent / "site"
    child = [python, "-I", "-S", str(job / "sandbox" / "child.py"), str(job)]
    if isolation.mode == "unshare":
        return ["unshare", "--pid", "--net", "--ipc", "--uts", "--fork", "--kill-child"] + drop + child, \
            str(job), [str(site)]
    return child, str(job), [str(site)]


def prepare(isolation: Isolation, root: Path, job: Path) -> None:
    """Let the sandbox user write its job folder (and, without bwrap, reach it)."""
    if isolation.drop_to_nobody:
        os.chown(job, NOBODY, NOBODY)
        if isolation.mode != "bwrap":
            os.chmod(root, 0o711)
            os.chmod(root / "site", 0o755)


def blocked_on_the_way(path: Path, uid: int = NOBODY, gid: int = NOBODY) -> Path | None:
    """The first folder on the way to ``path`` that ``uid`` cannot pass through (or ``path``
    itself: a folder it cannot enter, a file it cannot read); None when the whole way is open."""
    import stat

    path = Path(path)
    steps = [*reversed(path.parents), path]
    for index, step in enumerate(steps):
        try:
            info = step.stat()
        except OSError:
            return step
        if info.st_uid == uid:
            bits = (info.st_mode >> 6) & 7
        elif info.st_gid == gid:
            bits = (info.st_mode >> 3) & 7
        else:
            bits = info.st_mode & 7
        last = index == len(steps) - 1
        needed = 4 if last and not stat.S_ISDIR(info.st_mode) else 1
        if bits & needed != needed:
            return step
    return None


def diagnose(isolation: Isolation, needed: dict[str, Path], log: str) -> list[str]:
    """What to do when the sandbox cannot run the master: one line per likely cause.

    ``needed`` names what the sandboxed process must reach (``{"the Python interpreter": path}``);
    ``log`` is what it printed."""
    fixes = []
    if isolation.drop_to_nobody and isolation.mode != "bwrap":
        for what, path in needed.items():
            blocked = blocked_on_the_way(path)
            if blocked is not None:
                try:
                    mode = f"mode {blocked.stat().st_mode & 0o777:o}"
                except OSError:
                    mode = "missing"
                fixes.append(f"The sandbox user 'nobody' cannot reach {path} ({what}): {blocked} is in the way "
                             f"({mode}). Install bubblewrap (apt-get install bubblewrap), which shows the sandbox "
                             f"only what it needs whatever the folders' modes, or let others pass through that "
                             f"folder: chmod o+x {blocked}")
    if "No module named 'numpy'" in log or "numpy" in log and "ImportError" in log:
        fixes.append("The sandboxed Python could not import NumPy: check that NumPy is installed in the Python "
                     f"that grades ({sys.executable}) and readable by the sandbox user.")
    if "MemoryError" in log or "Cannot allocate memory" in log or "failed to map segment" in log:
        fixes.append("The sandboxed Python ran out of memory while starting: raise c.Harness.memory_mb "
                     "(or --memory-mb).")
    if "timed out" in log:
        fixes.append("It timed out: the machine may be overloaded; raise c.Harness.setup_s or grade with fewer --jobs.")
    if not fixes:
        fixes.append("Run `python -m autograder selfcheck` for details; grading once with "
                     "AUTOGRADER_SANDBOX=rlimits (on test submissions only) shows whether the sandbox is the cause.")
    return fixes
