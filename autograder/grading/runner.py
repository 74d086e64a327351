"""The runner: run a submission's code in a sandboxed process, read back what it returned.

This process never executes student code. The student's solution cells run beside the
master's provided cells in ``autograder/sandbox/child.py``, in a fresh process with resource
limits; this side imports nothing from ``autograder/sandbox/`` (it copies that folder into
each job) and reads everything that comes back through ``untrusted.py``'s bounded readers.

Deadlines belong to this process alone. A run may take at most ``setup_s`` plus the sum
of its functions' budgets; each function's start is accepted once, in order, and its
deadline is the earlier of its own budget and that cap. Nothing the student's process
writes can extend either.

A submission that crashes, exits, loops or returns junk scores 0 on what it broke and
never stops the grading of others: when the process dies inside graded function *i*,
function *i* fails with the reason, and a fresh process runs the functions after it. A
process that dies before any notebook code ran is the grader's fault (``GraderFault``).
"""
from __future__ import annotations

import ast
import importlib.util
import json
import os
import select
import shutil
import signal
import subprocess
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.grading import policy
from autograder.grading.references import run_reference, run_variant
from autograder.grading import codec, untrusted
from autograder.grading.judge import FunctionResult, judge
from autograder.registry import GradedFunction, ProblemSet
from autograder.grading import isolation
from autograder.errors import GraderFault
from autograder.grading.limits import Limits

SANDBOX_FOLDER = Path(__file__).resolve().parent.parent / "sandbox"
SANDBOX_FILES = ("child.py", "codec.py", "drivers.py")  # all of it: copied into every job
MAX_RESULT_BYTES = 16 * 2 ** 20    # one function's results (JSON or arrays), read back at most
MAX_CELLS_BYTES = 2 ** 20          # the cells' error report
MAX_PROGRESS_BYTES = 2 ** 20       # progress lines from one process
LOG_TAIL_BYTES = 4000
MIN_PROCESS_S = 1.0                # a fresh process is started only with at least this much of the submission's time left
EXIT_GRACE_S = 2.0


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
    """A code cell to run in the sandbox: the master's provided code or the student's solution.

    ``note`` is said in the feedback (a cell magic that was ignored, for example);
    ``problem``, when set, means the cell cannot be graded at all and says why."""

    id: str
    source: str
    note: str | None = None
    problem: str | None = None


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def where_time_went(reason: str, spent: dict[str, tuple[float, int]]) -> str:
    """For a function that ran out of time: how much of it went into the student's other graded functions that it
    called (so that a slow helper is named, not only the function that called it)."""
    if not ("timed out" in reason or "CPU time" in reason or "time budget" in reason):
        return ""
    named = sorted(((seconds, calls, name) for name, (seconds, calls) in spent.items() if seconds >= 0.5),
                   reverse=True)[:5]
    if not named:
        return ""
    return ("; of its time, your functions it calls took " +
            ", ".join(f"{name} {seconds:.1f} s ({calls} call{'s' if calls != 1 else ''})"
                      for seconds, calls, name in named) +
            ": make those faster first (each is graded on its own cases too)")


def death_reason(returncode: int | None, timed_out: float | None, log_tail: str, out_of_cpu: bool = False) -> str:
    if out_of_cpu:
        return "ran out of CPU time"
    if timed_out is not None:
        return f"timed out after {timed_out:g} s"
    if returncode is None:
        return "stopped"
    if 128 < returncode < 128 + 65:
        returncode = 128 - returncode  # bwrap and unshare report a signal as 128 + its number
    if returncode < 0:
        name = _signal_name(returncode)
        return {"SIGXCPU": "ran out of CPU time", "SIGXFSZ": "wrote more output than allowed",
                "SIGSEGV": "crashed with a segmentation fault",
                "SIGKILL": "was killed (out of memory?)"}.get(name, f"was killed by {name}")
    if "MemoryError" in log_tail:
        return "ran out of memory"
    return f"exited the process (exit code {returncode})"


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def _marked(marker: str) -> list[int]:
    """The processes that carry this run's marker in their environment."""
    needle = f"AUTOGRADER_JOB={marker}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) these processes have used so far; a process gone meanwhile counts 0."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        except (OSError, IndexError, ValueError):
            continue
    return total / _TICKS


class CpuWatch:
    """The CPU limits, enforced from this side as well: the child sets them as resource limits on itself,
    which honest code cannot escape, but code that raises its own soft limit could. Every ``POLL_S`` while a
    function with a CPU limit runs (and all the time for the course-wide limit), this process adds up the
    CPU time of every process that carries the run's marker, and ``over`` says when one is exceeded (with a
    second's grace, so that the child's own limit, which gives the clearer message, fires first)."""

    POLL_S = 0.5
    GRACE_S = 1.5

    def __init__(self, marker: str, total_s: float, per_function: dict[int, float]):
        self.marker, self.total_s, self.per_function = marker, total_s, per_function
        self.pids: list[int] = []
        self.started: dict[int, float] = {}  # function index -> CPU seconds used when it started

    def now(self) -> float:
        self.pids = _marked(self.marker) or self.pids
        return cpu_seconds(self.pids)

    def start(self, index: int) -> None:
        if index in self.per_function:
            self.started[index] = self.now()

    def over(self, current: int | None) -> bool:
        used = self.now()
        if used > self.total_s + self.GRACE_S:
            return True
        return current in self.started and used - self.started[current] > self.per_function[current] + self.GRACE_S


def _kill_marked(marker: str) -> int:
    """Kill processes that still carry this run's marker in their environment (they escaped
    the process group); returns how many there were."""
    killed = 0
    for pid in _marked(marker):
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except OSError:
            continue
    return killed


def forbidden_imports_message(source: str, banned: list[str]) -> str:
    """Where each forbidden import is: inside which function, or at the top level of the cell
    (a copied ``check(...)`` line, typically). ``source`` already parsed safely in untrusted.scan_imports."""
    places = []
    for statement in ast.parse(source).body:
        inside = statement.name if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        for node in ast.walk(statement):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                modules = [node.args[0].value]
            else:
                continue
            for module in modules:
                if module.split(".")[0] in banned:
                    where = f"inside {inside}" if inside else "at the top level of the cell, outside every function"
                    places.append(f"{module.split('.')[0]} (line {node.lineno}, {where})")
    places = list(dict.fromkeys(places)) or banned
    text = f"imports {', '.join(places[:5])}"
    if any("top level" in p for p in places):
        text += ("; the grader calls your functions itself, so a copied check(...) or other import at the top "
                 "level is not needed")
    return text


def may_use(fn: GradedFunction) -> str:
    """What a graded function may import, as the feedback says it."""
    if not fn.imports:
        return "graded functions may use NumPy only"
    return f"{fn.name} may use NumPy and {', '.join(fn.imports)} only"


class Deadlines:
    """The wall-clock budget of one sandboxed process, decided here and only ever shortened.

    ``run`` is the order in which the child must start the functions; each start is accepted
    once, in that order, and only after the previous function is done. The process is capped
    at ``setup_s`` plus the budgets of the functions it runs, and never past ``cap``, the
    submission's own cap across all the processes that grade it."""

    def __init__(self, setup_s: float, budgets: dict[int, float], run: list[int], now: float,
                 cap: float | None = None):
        self.budgets, self.order = budgets, list(run)
        self.cap = now + setup_s + sum(budgets[i] for i in run)
        if cap is not None:  # the submission's own cap, shared by every process that grades it
            self.cap = min(self.cap, cap)
        self.deadline, self.budget = min(now + setup_s, self.cap), setup_s
        self.started = 0      # how many functions have started
        self.current: int | None = None
        self.started_at = now
        self.elapsed: dict[int, float] = {}  # seconds from a function's start to its end, by this clock

    def start(self, index: int, now: float) -> bool:
        if self.current is not None or self.started >= len(self.order) or index != self.order[self.started]:
            return False  # out of order, a second time, or while another function is still running
        self.started += 1
        self.current = index
        self.budget = self.budgets[index]
        self.deadline = min(now + self.budget, self.cap)
        self.started_at = now
        return True

    def done(self, index: int, now: float | None = None) -> bool:
        if index != self.current:
            return False
        self.current = None
        if now is not None:
            self.elapsed[index] = now - self.started_at
        return True

    def left(self, now: float) -> float:
        return self.deadline - now


class Grader:
    """Grades submissions of one problem set with one seed.

    The hidden cases, their expected outputs and the outputs of the known wrong conventions
    are computed once, when the grader is made, and reused for every student of the run."""

    def __init__(self, problem_set: ProblemSet, seed: int, limits: Limits = Limits(), workdir: str | None = None,
                 references: bool = True):
        """``references=False``: a runner only (a Dask worker's), with the hidden cases but no expected outputs;
        it runs submissions and never judges them."""
        self.problem_set = problem_set
        self.seed = seed
        self.limits = limits
        self.cases = {fn.name: fn.cases(seed) for fn in problem_set.functions}
        self.expected = self.variants = None
        if references:
            self.expected = {fn.name: [None if fn.reference is None else run_reference(fn, case)
                                       for case in self.cases[fn.name]] for fn in problem_set.functions}
            self.variants = {fn.name: {m.name: [None if fn.judged_by_check(case) else run_variant(m, case)
                                                for case in self.cases[fn.name]]
                                       for m in fn.misconceptions} for fn in problem_set.functions}
        self.isolation = isolation.detect(limits.sandbox)
        if workdir is not None and self.isolation.drop_to_nobody and not self.isolation.hides_files \
                and isolation.blocked_on_the_way(Path(workdir)) is not None:
            workdir = None  # the sandbox user works in its job folder there: the system's temporary folder instead
        self._root = Path(tempfile.mkdtemp(prefix="autograder-", dir=workdir))
        self._inputs_spec, self._inputs_arrays = self._encode_inputs()
        self._sites: dict[tuple[str, ...], tuple[dict[str, Path], Path]] = {}
        self._import_cells = {fn.name for fn in problem_set.functions if fn.imports}  # cells that need more than NumPy
        self._site_dirs = self._make_site()
        self.leftover_processes = 0
        self.calibrated: dict[str, tuple[float, float]] = {}  # name -> (master's seconds, budget)

    def close(self):
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ setup
    def _encode_inputs(self):
        arrays: dict[str, np.ndarray] = {}
        specs = [[codec.encode(tuple(case.args), arrays) for case in self.cases[fn.name]]
                 for fn in self.problem_set.functions]
        return specs, arrays

    def _make_site(self, imports: tuple[str, ...] = ()) -> dict[str, Path]:
        """NumPy alone on the child's import path (no torch, no autograder), or with ``imports`` (a registry
        entry's ``imports``, with what they need themselves: ``policy.packages_for``) for a function allowed them.

        With bubblewrap the real folders are mounted at /site. Otherwise a ``site`` folder in the
        grader's temporary folder holds them: hard links (or copies) of NumPy when the child runs as
        'nobody', who may not be able to reach a virtual environment inside a private course
        folder (mode 700), and symbolic links when it runs as this user (and for the larger packages, such
        as torch, which 'nobody' must then be able to reach where they are installed)."""
        site = self._root / ("site" if not imports else "site-" + "-".join(imports))
        site.mkdir()
        numpy_dir = Path(np.__file__).resolve().parent
        dirs = {p.name: p for p in [numpy_dir, numpy_dir.parent / "numpy.libs"] if p.exists()}
        for package in policy.packages_for(imports):
            spec = importlib.util.find_spec(package)
            if spec is None or spec.origin is None and not spec.submodule_search_locations:
                raise GraderFault(f"a graded function may import {package}, which is not installed here")
            path = Path(next(iter(spec.submodule_search_locations)) if spec.submodule_search_locations else spec.origin)
            dirs[path.name] = path.resolve()
        for name, path in dirs.items():
            if self.isolation.mode == "unshare" and name.startswith("numpy"):
                shutil.copytree(path, site / name, copy_function=_link_or_copy, ignore=shutil.ignore_patterns("tests"))
            elif self.isolation.mode != "bwrap":
                (site / name).symlink_to(path)
        self._sites[imports] = (dirs, site)
        return dirs

    def _site(self, imports: tuple[str, ...]) -> tuple[dict[str, Path], Path]:
        """(the packages, the site folder) of a process whose functions may import ``imports``; made once."""
        if imports not in self._sites:
            self._make_site(imports)
        return self._sites[imports]

    def sandbox_needs(self) -> dict[str, Path]:
        """What the sandboxed process must be able to reach, for diagnosing a sandbox that fails."""
        needs = {"the Python interpreter": Path(isolation.python_executable()),
                 "the Python standard library": Path(sysconfig.get_paths()["stdlib"]).resolve(),
                 "the grader's working folder": self._root}
        if self.isolation.mode == "rlimits":
            needs.update({f"NumPy ({name})": path for name, path in self._site_dirs.items()})
        return needs

    def time_limit(self, fn: GradedFunction) -> float:
        if fn.name in self.calibrated:
            return self.calibrated[fn.name][1]
        return self.limits.function_s if self.limits.function_s is not None else fn.time_limit_s

    def calibrate(self, control_raw: dict) -> dict[str, tuple[float, float]]:
        """Budgets of the functions with ``budget_vs_master``, from the master's times in ``control_raw`` (what
        ``run`` returned for the control submission): {name: (master's seconds, budget)}."""
        for i, fn in enumerate(self.problem_set.functions):
            seconds = control_raw.get("function_seconds", {}).get(i)
            if fn.budget_vs_master and seconds is not None:
                self.calibrated[fn.name] = (seconds, max(fn.min_budget_s, fn.budget_vs_master * seconds))
        return dict(self.calibrated)

    def budget_line(self, name: str, seconds: float | None) -> str | None:
        """What the feedback says about a calibrated function's time."""
        if name not in self.calibrated:
            return None
        master, budget = self.calibrated[name]
        fn = self.problem_set[name]
        took = f"took {seconds:.2f} s of" if seconds is not None else "had"
        return (f"{name} {took} its {budget:.2f} s budget ({fn.budget_vs_master:g} x the model solution's {master:.3f} s "
                f"on this machine, at least {fn.min_budget_s:g} s).")

    def _copy_sandbox(self, job: Path) -> None:
        """The sandbox's own code, and the problem set's drivers beside it, into the job folder."""
        target = job / "sandbox"
        target.mkdir()
        for name in SANDBOX_FILES:
            shutil.copyfile(SANDBOX_FOLDER / name, target / name)
        if self.problem_set.drivers_file and self.problem_set.drivers_file.exists():
            shutil.copyfile(self.problem_set.drivers_file, target / "ps_drivers.py")

    # ------------------------------------------------------------ grading
    def grade(self, cells: list[Cell], only: list[str] | None = None) -> SubmissionResult:
        """Run ``cells`` (the master's provided cells and the student's solution cells, in
        notebook order) and grade the problem set's functions (``only`` these, if given)."""
        return self.judge(self.run(cells, only))

    def run(self, cells: list[Cell], only: list[str] | None = None, probe: list[str] = ()) -> dict:
        """Outcomes per function index (a list of case outcomes, or a string saying why none),
        the cells' errors, notes and the log's tail. Raises GraderFault.

        ``probe``: paths the sandboxed process tries to read before any notebook code runs (the control run's
        masters, gradebook and planted bugs); those it could read come back as ``readable``."""
        started = time.perf_counter()
        job = Path(tempfile.mkdtemp(prefix="job-", dir=self._root))
        functions = self.problem_set.functions
        wanted = [i for i, fn in enumerate(functions) if only is None or fn.name in only]
        outcomes: dict[int, list[dict] | str] = {}
        cell_errors: dict[str, str] = {}
        notes: list[str] = [c.note for c in cells if c.note]
        unfit = {c.id: c.problem for c in cells if c.problem}
        runnable = [c for c in cells if not c.problem]
        for i in wanted:
            if functions[i].name in unfit:
                outcomes[i] = unfit[functions[i].name]
                continue
            # the NumPy-only rule, checked on the source before anything runs: a function that breaks it
            # is not called (its cell still runs, for the helpers it may define)
            source = "\n".join(c.source for c in runnable if c.id == functions[i].name)
            try:
                banned = untrusted.scan_imports(source, tuple(self.limits.allowed_modules) + functions[i].imports)
            except untrusted.Untrusted as error:
                outcomes[i] = str(error)
                continue
            except untrusted.ScanFault as fault:  # not the cell's doing: nobody loses a point for it
                raise GraderFault(str(fault)) from fault
            if banned:
                outcomes[i] = f"{forbidden_imports_message(source, banned)}; {may_use(functions[i])}"
        log_tail, readable = "", []
        # functions with a calibrated budget run last in their process: nothing after them to borrow time from
        remaining = sorted((i for i in wanted if i not in outcomes),
                           key=lambda i: (functions[i].budget_vs_master is not None, i))
        function_seconds: dict[int, float] = {}
        # the whole submission, however many fresh processes it takes: setup plus its functions' budgets
        cap = time.monotonic() + self.limits.setup_s + sum(self.time_limit(functions[i]) for i in remaining)
        first = True
        # a function allowed more than NumPy (torch) runs in a process of its own kind, after the others, with the
        # cells of every function; the others never see those packages, nor the cells that import them
        groups = sorted({functions[i].imports for i in remaining}, key=len)
        later = [i for i in remaining if functions[i].imports != groups[0]] if groups else []
        remaining = [i for i in remaining if i not in later]
        imports = groups[0] if groups else ()
        try:
            while remaining or later:
                if not remaining:
                    imports = functions[later[0]].imports
                    remaining = [i for i in later if functions[i].imports == imports]
                    later = [i for i in later if i not in remaining]
                group_cells = runnable if imports else [
                    c for c in runnable if c.id not in self._import_cells]
                if cap - time.monotonic() < MIN_PROCESS_S:
                    reason = "used the whole time budget of the submission (setup plus its functions' budgets)"
                    notes.append(f"Your notebook {reason}; the functions after that were not graded.")
                    for index in remaining + later:
                        outcomes[index] = f"not graded: the submission {reason}"
                    break
                state = self._run_child(job, group_cells, remaining, cap, first, imports,
                                        probe=list(probe) if first else [])
                if first and probe:
                    answer = self._read_probe(job)  # no answer: assume the worst
                    readable = [p for p in probe if answer is None or p in answer]  # in the probe's order
                first = False
                log_tail = state["log_tail"]
                cell_errors.update(state["cell_errors"])
                function_seconds.update(state["elapsed"])
                for index in state["done"]:
                    outcomes[index] = self._read_outcomes(job, index)
                if state["broken_at"] is None and not state["reached_functions"]:
                    where = f" while running cell '{state['cell']}'" if state["cell"] else ""
                    notes.append(f"Your notebook's code {state['reason']}{where}; no function could be graded.")
                    for index in remaining + later:
                        outcomes.setdefault(index, f"not graded: the notebook's code {state['reason']}{where}")
                    break
                if state["broken_at"] is not None:
                    name = functions[state["broken_at"]].name
                    outcomes[state["broken_at"]] = state["reason"] + where_time_went(
                        state["reason"], state["spent"].get(state["broken_at"], {}))
                    notes.append(f"{state['reason']} in {name}.")
                remaining = [i for i in remaining if i not in outcomes]
        finally:
            shutil.rmtree(job, ignore_errors=True)
        return {"outcomes": outcomes, "cell_errors": cell_errors, "notes": notes, "log_tail": log_tail,
                "wanted": wanted, "seconds": time.perf_counter() - started, "function_seconds": function_seconds,
                "readable": readable}

    def judge(self, raw: dict) -> SubmissionResult:
        """The verdicts on what ``run`` brought back, against the expected outputs of this run's cases."""
        if self.expected is None:
            raise RuntimeError("this runner has no references (references=False): it cannot judge")
        functions = self.problem_set.functions
        results = {}
        for i in raw["wanted"]:
            fn = functions[i]
            results[fn.name] = judge(fn, self.cases[fn.name], self.expected[fn.name], raw["outcomes"].get(i, "not run"),
                                     raw["cell_errors"].get(fn.name), self.variants[fn.name])
        for i in raw["wanted"]:
            name = functions[i].name
            line = self.budget_line(name, raw.get("function_seconds", {}).get(i))
            if line:
                results[name].messages.insert(1, line)
        for name, result in results.items():
            failed_uses = [u for u in self.problem_set[name].uses if u in results and not results[u].passed]
            if not result.passed and failed_uses:
                result.messages.insert(1, f"({name} uses {', '.join(failed_uses)}, which failed "
                                          f"{'its' if len(failed_uses) == 1 else 'their'} own cases: fix that first.)")
        return SubmissionResult(results, raw["cell_errors"], raw["seconds"], raw["notes"], raw["log_tail"])

    def _job_spec(self, cells: list[Cell], run: list[int], write_fd: int, sys_path: list[str],
                  imports: tuple[str, ...] = (), probe: list[str] = ()) -> dict:
        limits = self.limits
        rlimits = {
            "RLIMIT_AS": limits.memory_mb * 2 ** 20,
            "RLIMIT_CPU": limits.cpu_s,
            "RLIMIT_FSIZE": limits.file_mb * 2 ** 20,
            "RLIMIT_NOFILE": limits.open_files,
            "RLIMIT_CORE": 0,
        }
        if self.isolation.drop_to_nobody:
            rlimits["RLIMIT_NPROC"] = limits.processes
        return {
            "progress_fd": write_fd,
            "sys_path": sys_path,
            "rlimits": rlimits,
            "allowed_modules": list(limits.allowed_modules) + list(policy.packages_for(imports)),
            "cells": [{"id": c.id, "source": c.source} for c in cells],
            "functions": [{"name": fn.name, "signature": fn.signature, "driver": fn.driver,
                           "cases": self._inputs_spec[i],
                           "memory_mb": min(fn.memory_mb, limits.memory_mb) if fn.memory_mb else None,
                           "cpu_s": min(fn.cpu_s, limits.cpu_s) if fn.cpu_s else None}
                          for i, fn in enumerate(self.problem_set.functions)],
            "run": run,
            "probe": list(probe),
        }

    def _run_child(self, job: Path, cells: list[Cell], run: list[int], cap: float | None = None,
                   first: bool = True, imports: tuple[str, ...] = (), probe: list[str] = ()) -> dict:
        for stale in job.iterdir():
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
        read_fd, write_fd = os.pipe()
        site_dirs, site_folder = self._site(imports)
        argv, job_inside, sys_path = isolation.command(self.isolation, job, site_dirs, site_folder)
        (job / "job.json").write_text(json.dumps(self._job_spec(cells, run, write_fd, sys_path, imports, probe)))
        np.savez(job / "inputs.npz", **self._inputs_arrays)
        self._copy_sandbox(job)
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
        budgets = {i: self.time_limit(self.problem_set.functions[i]) for i in run}
        clock = Deadlines(self.limits.setup_s, budgets, run, time.monotonic(), cap)
        functions = self.problem_set.functions
        state = {"booted": False, "cell": None, "reached_functions": False, "done": [], "spent": {},
                 "names": {fn.name for fn in functions}, "run": set(run)}
        watch = CpuWatch(marker, self.limits.cpu_s, {
            i: min(functions[i].cpu_s, self.limits.cpu_s) for i in run if functions[i].cpu_s})
        timed_out, out_of_cpu, watching, next_poll = None, False, None, time.monotonic() + CpuWatch.POLL_S
        buffer, received = b"", 0
        try:
            while True:
                wait = clock.left(time.monotonic())
                if wait <= 0:
                    timed_out = clock.budget
                    break
                ready, _, _ = select.select([read_fd], [], [], min(wait, CpuWatch.POLL_S))
                if ready:
                    chunk = os.read(read_fd, 65536)
                    if not chunk:
                        break  # the child closed its end: finished or died
                    received += len(chunk)
                    if received > MAX_PROGRESS_BYTES:
                        break
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        self._progress(line, state, clock)
                if clock.current != watching:
                    watching = clock.current
                    if watching is not None:
                        watch.start(watching)
                if time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + CpuWatch.POLL_S
                    if watch.over(clock.current):
                        out_of_cpu = True
                        break
        finally:
            os.close(read_fd)
            self._kill(process, grace_s=0 if timed_out or out_of_cpu else EXIT_GRACE_S)
            self.leftover_processes += _kill_marked(marker)
        returncode = process.returncode
        try:
            log_tail = untrusted.read_file(job / "log.txt", 0, tail=LOG_TAIL_BYTES).decode("utf-8", "replace")
        except untrusted.Untrusted:
            log_tail = ""
        state["log_tail"] = log_tail
        if not state["booted"] and not (timed_out is not None and not first and clock.deadline >= clock.cap):
            # (a later process that the submission's own cap cut short is the submission's doing)
            reason = death_reason(returncode, timed_out, log_tail, out_of_cpu)
            raise GraderFault(f"the sandboxed Python {reason} before any notebook code ran "
                              f"(isolation: {self.isolation.mode})", log_tail)
        finished = returncode == 0 and timed_out is None and not out_of_cpu and clock.current is None and len(state["done"]) == len(run)
        state["broken_at"] = None
        if not finished:
            state["reason"] = death_reason(returncode, timed_out, log_tail, out_of_cpu)
            if state["reached_functions"]:
                # died inside a function, or between two: blame the first that did not finish
                pending = [i for i in run if i not in state["done"]]
                state["broken_at"] = clock.current if clock.current is not None else (pending[0] if pending else None)
        state["cell_errors"] = self._read_cell_errors(job) if state["reached_functions"] else {}
        state["elapsed"] = dict(clock.elapsed)
        return state

    @staticmethod
    def _progress(line: bytes, state: dict, clock: Deadlines) -> None:
        kind, _, arg = line.decode("utf-8", "replace").partition(" ")
        now = time.monotonic()
        if kind == "B":
            state["booted"] = True
        elif kind == "C" and not state["reached_functions"]:
            state["cell"] = arg[:200]
        elif kind == "R":
            state["reached_functions"] = True
        elif kind == "S" and arg.isdigit() and state["reached_functions"]:
            clock.start(int(arg), now)
        elif kind == "D" and arg.isdigit() and clock.done(int(arg), now):
            state["done"].append(int(arg))
        elif kind == "U" and state["reached_functions"]:
            # time spent in the student's other graded functions: hostile text, kept only when it is well formed
            parts = arg.split(" ")
            try:
                index, name, seconds, calls = int(parts[0]), parts[1], float(parts[2]), int(parts[3])
            except (ValueError, IndexError):
                return
            if len(parts) == 4 and index in state["run"] and name in state["names"] and \
                    0 <= seconds < 1e7 and 0 <= calls < 10 ** 15:
                state["spent"].setdefault(index, {})[name] = (seconds, calls)

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
    def _read_probe(job: Path) -> set[str] | None:
        """The paths the sandboxed process said it could read; None when it gave no readable answer."""
        try:
            value = untrusted.load_json(untrusted.read_file(job / "probe.json", MAX_CELLS_BYTES),
                                        max_bytes=MAX_CELLS_BYTES)
        except untrusted.Untrusted:
            return None
        return {v for v in value[:10_000] if isinstance(v, str)} if isinstance(value, list) else None

    @staticmethod
    def _read_cell_errors(job: Path) -> dict[str, str]:
        try:
            value = untrusted.load_json(untrusted.read_file(job / "cells.json", MAX_CELLS_BYTES),
                                        max_bytes=MAX_CELLS_BYTES)
        except untrusted.Untrusted:
            return {}
        if not isinstance(value, dict):
            return {}
        return {str(k)[:200]: str(v)[:2000] for k, v in list(value.items())[:1000]}

    def _read_outcomes(self, job: Path, index: int) -> list[dict] | str:
        try:
            result = untrusted.load_json(untrusted.read_file(job / f"result_{index}.json", MAX_RESULT_BYTES),
                                         max_bytes=MAX_RESULT_BYTES)
            arrays = untrusted.load_npz(untrusted.read_file(job / f"result_{index}.npz", MAX_RESULT_BYTES),
                                        max_bytes=MAX_RESULT_BYTES)
        except untrusted.Untrusted as error:
            return f"returned results the grader could not read ({error})"
        if not isinstance(result, dict) or not isinstance(result.get("outcomes"), list):
            return "returned results the grader could not read"
        imports = [m for m in result.get("imports", []) if isinstance(m, str)][:10] \
            if isinstance(result.get("imports"), list) else []
        if imports:
            return f"imported {', '.join(imports)} while running; {may_use(self.problem_set.functions[index])}"
        decoded = []
        for outcome in result["outcomes"][:10_000]:
            if not isinstance(outcome, dict):
                decoded.append({"error": "returned a value the grader could not decode"})
            elif "value" in outcome:
                try:
                    decoded.append({"value": untrusted.decode_value(outcome["value"], arrays)})
                except untrusted.Untrusted as error:
                    decoded.append({"error": str(error)})
            else:
                decoded.append({"error": str(outcome.get("error", "unknown error"))[:2000]})
        return decoded
