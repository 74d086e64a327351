"""The grading harness: run a submission's code in a separate process, judge it here.

The verdict is made in this process, which never executes student code. The student's
solution cells run in ``sandbox/child.py`` beside the master's own provided cells, in a
fresh process with resource limits; only plain data comes back (JSON and ``.npz``
arrays loaded with pickles off), and it is compared with the PyTorch references here.

A submission that crashes, exits, loops or returns junk scores 0 on what it broke and
never stops the grading of others: when the process dies inside graded function *i*,
function *i* fails with the reason, and a fresh process runs the functions after it.
"""
from __future__ import annotations

import io
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder import policy
from autograder.compare import compare_outputs
from autograder.device import run_reference
from autograder.registry import GradedFunction, ProblemSet
from autograder.sandbox import child as child_module
from autograder.sandbox import isolation

CHILD_SOURCE = Path(child_module.__file__)
MAX_RESULT_BYTES = 16 * 2 ** 20
MAX_PROGRESS_BYTES = 2 ** 20
MAX_FAILED_CASES_SHOWN = 3


@dataclass(frozen=True)
class Limits:
    """Per-submission limits. Configurable in nbgrader_config.py (``c.Harness.*``)."""

    setup_s: float = 30.0          # wall time for the notebook's top-level code
    function_s: float | None = None  # overrides each graded function's own time limit
    memory_mb: int = 2048           # address space of the student's process
    cpu_s: int = 300                # CPU seconds of the student's process
    file_mb: int = 64               # largest file it may write (its stdout log included)
    open_files: int = 64
    processes: int = 32             # processes of the sandbox user (when it runs as 'nobody')
    sandbox: str = "auto"           # auto, bwrap, unshare or rlimits (see sandbox/isolation.py)
    allowed_modules: tuple = policy.DEFAULT_ALLOWED  # besides the standard library


@dataclass
class FunctionResult:
    name: str
    points: int
    passed: bool
    cases_passed: int
    cases_total: int
    messages: list[str] = field(default_factory=list)

    @property
    def score(self) -> int:
        return self.points if self.passed else 0


@dataclass
class SubmissionResult:
    functions: dict[str, FunctionResult]
    cell_errors: dict[str, str]
    seconds: float
    notes: list[str] = field(default_factory=list)
    log_tail: str = ""  # the end of what the sandboxed process printed (for the instructor, not the feedback)

    @property
    def score(self) -> int:
        return sum(r.score for r in self.functions.values())


@dataclass(frozen=True)
class Cell:
    """A code cell to run in the sandbox: the master's provided code or the student's solution."""

    id: str
    source: str


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _death_reason(returncode: int | None, timed_out: float | None, log_tail: str) -> str:
    if timed_out is not None:
        return f"timed out after {timed_out:g} s"
    if returncode is None:
        return "stopped"
    if 128 < returncode < 128 + 65:
        returncode = 128 - returncode  # bwrap and unshare report a signal as 128 + its number
    if returncode < 0:
        name = _signal_name(returncode)
        if name == "SIGXCPU":
            return "ran out of CPU time"
        if name == "SIGXFSZ":
            return "wrote more output than allowed"
        if name == "SIGSEGV":
            return "crashed with a segmentation fault"
        if name == "SIGKILL":
            return "was killed (out of memory?)"
        return f"was killed by {name}"
    if "MemoryError" in log_tail:
        return "ran out of memory"
    return f"exited the process (exit code {returncode})"


def _safe_read(path: Path, limit: int, tail: int | None = None) -> bytes | None:
    """Read a file the sandbox wrote without following links or blocking on pipes;
    None if it is not a plain file or is over ``limit`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        if tail is not None and info.st_size > tail:
            os.lseek(fd, info.st_size - tail, os.SEEK_SET)
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def _kill_marked(marker: str) -> int:
    """Kill processes that still carry this run's marker in their environment (they escaped
    the process group); returns how many there were."""
    needle = f"AUTOGRADER_JOB={marker}".encode()
    killed = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    os.kill(int(entry), signal.SIGKILL)
                    killed += 1
        except (OSError, ProcessLookupError):
            continue
    return killed


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


class GraderFault(Exception):
    """The sandbox failed before any student code ran: the grader's fault, never the student's.

    ``log`` is the tail of what the sandboxed process printed (its stderr included)."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.log = log


class Grader:
    """Grades submissions of one problem set with one seed.

    The hidden cases and their expected outputs are computed once, when the grader is
    made, and reused for every student of the run.
    """

    def __init__(self, problem_set: ProblemSet, seed: int, limits: Limits = Limits(), workdir: str | None = None):
        self.problem_set = problem_set
        self.seed = seed
        self.limits = limits
        self.cases = {fn.name: fn.cases(seed) for fn in problem_set.functions}
        self.expected = {
            fn.name: [run_reference(fn, case) if fn.reference else None for case in self.cases[fn.name]]
            for fn in problem_set.functions
        }
        self.isolation = isolation.detect(limits.sandbox)
        self._root = Path(tempfile.mkdtemp(prefix="autograder-", dir=workdir))
        self._inputs_spec, self._inputs_arrays = self._encode_inputs()
        self._site_dirs = self._make_site()
        self.leftover_processes = 0

    def close(self):
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ setup
    def _encode_inputs(self):
        arrays: dict[str, np.ndarray] = {}
        specs = [[child_module.encode(tuple(case.args), arrays, np) for case in self.cases[fn.name]]
                 for fn in self.problem_set.functions]
        # a case's args decode to a tuple; the child calls f(*args)
        return specs, arrays

    def _make_site(self) -> dict[str, Path]:
        """NumPy alone on the child's import path (no torch, no autograder).

        With bubblewrap the real folders are mounted at /site. Otherwise ``site/`` in the
        grader's temporary folder holds them: hard links (or copies) when the child runs as
        'nobody', who may not be able to reach a virtual environment inside a private course
        folder (mode 700), and symbolic links when it runs as this user."""
        site = self._root / "site"
        site.mkdir()
        numpy_dir = Path(np.__file__).resolve().parent
        dirs = {p.name: p for p in [numpy_dir, numpy_dir.parent / "numpy.libs"] if p.exists()}
        for name, path in dirs.items():
            if self.isolation.mode == "unshare":
                shutil.copytree(path, site / name, copy_function=_link_or_copy,
                                ignore=shutil.ignore_patterns("tests"))
            elif self.isolation.mode == "rlimits":
                (site / name).symlink_to(path)
        return dirs

    def sandbox_needs(self) -> dict[str, Path]:
        """What the sandboxed process must be able to reach, for diagnosing a sandbox that fails."""
        import sysconfig

        needs = {"the Python interpreter": Path(isolation.python_executable()),
                 "the Python standard library": Path(sysconfig.get_paths()["stdlib"]).resolve(),
                 "the grader's working folder": self._root}
        if self.isolation.mode == "rlimits":
            needs.update({f"NumPy ({name})": path for name, path in self._site_dirs.items()})
        return needs

    def _time_limit(self, fn: GradedFunction) -> float:
        return self.limits.function_s if self.limits.function_s is not None else fn.time_limit_s

    # ------------------------------------------------------------ grading
    def grade(self, cells: list[Cell]) -> SubmissionResult:
        """Run ``cells`` (the master's provided cells and the student's solution cells,
        in notebook order) and grade every function of the problem set."""
        started = time.perf_counter()
        job = Path(tempfile.mkdtemp(prefix="job-", dir=self._root))
        functions = self.problem_set.functions
        outcomes: dict[int, list[dict] | str] = {}
        cell_errors: dict[str, str] = {}
        notes: list[str] = []
        log_tail = ""
        try:
            remaining = list(range(len(functions)))
            while remaining:
                run = self._run_child(job, cells, remaining)
                log_tail = run["log_tail"]
                cell_errors.update(run["cell_errors"])
                for index in run["done"]:
                    outcomes[index] = self._read_outcomes(job, index)
                if run["broken_at"] is None and not run["reached_functions"]:
                    # the notebook's own code killed the process before any function ran
                    where = f" while running cell '{run['cell']}'" if run["cell"] else ""
                    notes.append(f"Your notebook's code {run['reason']}{where}; no function could be graded.")
                    for index in remaining:
                        outcomes.setdefault(index, f"not graded: the notebook's code {run['reason']}{where}")
                    break
                if run["broken_at"] is not None:
                    name = functions[run["broken_at"]].name
                    outcomes[run["broken_at"]] = run["reason"]
                    notes.append(f"{run['reason']} in {name}.")
                remaining = [i for i in remaining if i not in outcomes]
        finally:
            shutil.rmtree(job, ignore_errors=True)
        for i, fn in enumerate(functions):
            banned = [m for c in cells if c.id == fn.name
                      for m in policy.forbidden_imports(c.source, self.limits.allowed_modules)]
            if banned:
                outcomes[i] = f"imports {', '.join(banned)}; graded functions may use NumPy only"
        results = {fn.name: self._judge(i, fn, outcomes.get(i, "not run"), cell_errors)
                   for i, fn in enumerate(functions)}
        return SubmissionResult(results, cell_errors, time.perf_counter() - started, notes, log_tail)

    def _run_child(self, job: Path, cells: list[Cell], run: list[int]) -> dict:
        for stale in job.glob("result_*"):
            stale.unlink()
        read_fd, write_fd = os.pipe()
        limits = self.limits
        argv, job_inside, sys_path = isolation.command(self.isolation, job, self._site_dirs)
        rlimits = {
            "RLIMIT_AS": limits.memory_mb * 2 ** 20,
            "RLIMIT_CPU": limits.cpu_s,
            "RLIMIT_FSIZE": limits.file_mb * 2 ** 20,
            "RLIMIT_NOFILE": limits.open_files,
            "RLIMIT_CORE": 0,
        }
        if self.isolation.drop_to_nobody:
            rlimits["RLIMIT_NPROC"] = limits.processes
        spec = {
            "progress_fd": write_fd,
            "sys_path": sys_path,
            "rlimits": rlimits,
            "allowed_modules": list(limits.allowed_modules),
            "cells": [{"id": c.id, "source": c.source} for c in cells],
            "functions": [{"name": fn.name, "driver": fn.driver, "cases": self._inputs_spec[i]}
                          for i, fn in enumerate(self.problem_set.functions)],
            "run": run,
        }
        (job / "job.json").write_text(json.dumps(spec))
        np.savez(job / "inputs.npz", **self._inputs_arrays)
        shutil.copyfile(CHILD_SOURCE, job / "child.py")
        isolation.prepare(self.isolation, self._root, job)
        marker = f"{job.name}-{os.getpid()}"
        env = {"PATH": "/usr/bin:/bin", "HOME": job_inside, "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "AUTOGRADER_JOB": marker}
        with open(job / "log.txt", "wb") as log:
            process = subprocess.Popen(
                argv, cwd=job, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                pass_fds=(write_fd,), start_new_session=True,
            )
        os.close(write_fd)
        state = {"booted": False, "cell": None, "reached_functions": False, "current": None, "done": [],
                 "broken_at": None}
        deadline = time.monotonic() + limits.setup_s
        budget = limits.setup_s
        timed_out = None
        buffer, received = b"", 0
        try:
            while True:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    timed_out = budget
                    break
                ready, _, _ = select.select([read_fd], [], [], wait)
                if not ready:
                    continue
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    break  # the child closed its end: finished or died
                received += len(chunk)
                if received > MAX_PROGRESS_BYTES:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    kind, _, arg = line.decode("utf-8", "replace").partition(" ")
                    if kind == "B":
                        state["booted"] = True
                    elif kind == "C" and not state["reached_functions"]:
                        state["cell"] = arg
                    elif kind == "R":
                        state["reached_functions"] = True
                    elif kind == "S" and arg.isdigit() and int(arg) in run:
                        state["current"] = int(arg)
                        budget = self._time_limit(self.problem_set.functions[int(arg)])
                        deadline = time.monotonic() + budget
                    elif kind == "D" and arg.isdigit() and int(arg) == state["current"]:
                        state["done"].append(int(arg))
                        state["current"] = None
        finally:
            os.close(read_fd)
            self._kill(process, grace_s=0 if timed_out else 2.0)
            self.leftover_processes += _kill_marked(marker)
        returncode = process.returncode
        log_tail = (_safe_read(job / "log.txt", 2 ** 40, tail=4000) or b"").decode("utf-8", "replace")
        finished = returncode == 0 and timed_out is None and state["current"] is None and \
            len(state["done"]) == len(run)
        state["log_tail"] = log_tail
        if not state["booted"]:
            reason = _death_reason(returncode, timed_out, log_tail)
            raise GraderFault(f"the sandboxed Python {reason} before any notebook code ran "
                              f"(isolation: {self.isolation.mode})", log_tail)
        if not finished:
            state["reason"] = _death_reason(returncode, timed_out, log_tail)
            state["broken_at"] = state["current"] if state["reached_functions"] else None
            if state["reached_functions"] and state["current"] is None:
                # died between functions: blame the first function that did not finish
                pending = [i for i in run if i not in state["done"]]
                state["broken_at"] = pending[0] if pending else None
        state["cell_errors"] = self._read_json(job / "cells.json", {}) if state["reached_functions"] else {}
        return state

    @staticmethod
    def _kill(process: subprocess.Popen, grace_s: float = 0.0):
        """Kill the child's whole process group, then reap the child. With a grace period, a
        child that is finishing on its own gets to report its exit code first."""
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()

    @staticmethod
    def _read_json(path: Path, default):
        raw = _safe_read(path, MAX_RESULT_BYTES)
        try:
            value = json.loads(raw) if raw is not None else default
        except ValueError:
            return default
        return value if isinstance(value, type(default)) else default

    def _read_outcomes(self, job: Path, index: int) -> dict | str:
        result = self._read_json(job / f"result_{index}.json", {})
        outcomes = result.get("outcomes", [])
        raw = _safe_read(job / f"result_{index}.npz", MAX_RESULT_BYTES)
        if raw is None:
            return "returned results the grader could not read (too large, or not a plain file)"
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except Exception:
            return "its results could not be read back"
        imports = [m for m in result.get("imports", []) if isinstance(m, str)][:10]
        if imports:
            return f"imported {', '.join(imports)} while running; graded functions may use NumPy only"
        decoded = []
        for outcome in outcomes:
            try:
                if "value" in outcome:
                    decoded.append({"value": child_module.decode(outcome["value"], arrays)})
                else:
                    decoded.append({"error": str(outcome.get("error", "unknown error"))[:2000]})
            except Exception:
                decoded.append({"error": "returned a value the grader could not decode"})
        return {"outcomes": decoded}

    def _judge(self, index: int, fn: GradedFunction, outcomes, cell_errors) -> FunctionResult:
        cases = self.cases[fn.name]
        if isinstance(outcomes, dict):
            outcomes = outcomes["outcomes"]
        if isinstance(outcomes, str):
            return FunctionResult(fn.name, fn.points, False, 0, len(cases), [f"{fn.name}: {outcomes}."])
        failures = []
        for i, case in enumerate(cases):
            outcome = outcomes[i] if i < len(outcomes) and isinstance(outcomes[i], dict) else \
                {"error": "no result for this case"}
            if "error" in outcome:
                problem = f"raised an error:\n{outcome['error']}"
                if "is not defined" in outcome["error"] and fn.name in cell_errors:
                    problem += f"\n(its cell failed: {cell_errors[fn.name]})"
            elif fn.check is not None:
                problem = fn.check(case, outcome["value"])
            else:
                problem = compare_outputs(fn.returns, self.expected[fn.name][i], outcome["value"], fn.rtol, fn.atol)
            if problem:
                failures.append(f"case '{case.label}': {problem}")
        passed = len(cases) - len(failures)
        if not failures:
            messages = [f"{fn.name}: all {len(cases)} cases passed."]
        else:
            messages = [f"{fn.name}: {len(failures)} of {len(cases)} cases failed."]
            messages += failures[:MAX_FAILED_CASES_SHOWN]
            if len(failures) > MAX_FAILED_CASES_SHOWN:
                messages.append(f"... and {len(failures) - MAX_FAILED_CASES_SHOWN} more failing case(s).")
        return FunctionResult(fn.name, fn.points, not failures, passed, len(cases), messages)
