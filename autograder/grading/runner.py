"""The runner: run a submission's code in sandboxed processes and read back what it returned.

This process never executes student code. The student's solution cells run beside the master's provided cells in
``autograder/sandbox/child.py``, in a fresh process with resource limits; this side imports nothing from
``autograder/sandbox/`` (it copies that folder into each job) and reads everything that comes back through
``untrusted.py``'s bounded readers. A :class:`Runner` knows a problem set's hidden cases for one seed, never their
expected outputs (those are ``references.py``'s, and judging is ``judge.py``'s): it is what a Dask worker holds.

:meth:`Runner.run` returns a :class:`RunResult`, plain data keyed by function name. A submission that crashes,
exits, loops or returns junk scores 0 on what it broke and never stops the grading of others: when the process
dies inside graded function *i*, function *i* fails with the reason, and a fresh process runs the functions after
it. A process that dies before any notebook code ran is the grader's fault (``GraderFault``). How one process is
watched, timed and killed is ``supervise.py``'s.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.errors import GraderFault
from autograder.grading import codec, isolation, policy, untrusted
from autograder.grading.limits import Limits
from autograder.grading.policy import forbidden_imports_message, may_use
from autograder.grading.supervise import ChildState, CpuWatch, Deadlines, death_reason, supervise, where_time_went
from autograder.registry import GradedFunction, ProblemSet

SANDBOX_FOLDER = Path(__file__).resolve().parent.parent / "sandbox"
SANDBOX_FILES = ("child.py", "codec.py", "drivers.py")  # all of it: copied into every job
MAX_RESULT_BYTES = 16 * 2 ** 20    # one function's results (JSON or arrays), read back at most
MAX_CELLS_BYTES = 2 ** 20          # the cells' error report
LOG_TAIL_BYTES = 4000
MIN_PROCESS_S = 1.0                # a fresh process is started only with at least this much of the submission's time left


@dataclass(frozen=True)
class Cell:
    """A code cell to run in the sandbox: the master's provided code or the student's solution.

    ``note`` is said in the feedback (a cell magic that was ignored, for example);
    ``unfit``, when set, means the cell cannot be graded at all and says why."""

    id: str
    source: str
    note: str | None = None
    unfit: str | None = None


@dataclass
class RunResult:
    """What one submission's run brought back, keyed by function name: plain data, never judged here.

    ``outcomes[name]`` is one ``{"value": ...}`` or ``{"error": ...}`` per case, or a string saying why the
    function could not be run at all. ``readable``: the probed paths the sandbox could read (the control run's)."""

    wanted: list[str]
    outcomes: dict[str, list[dict] | str] = field(default_factory=dict)
    cell_errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    log_tail: str = ""
    seconds: float = 0.0
    function_seconds: dict[str, float] = field(default_factory=dict)
    readable: list[str] = field(default_factory=list)


@dataclass
class _ProcessEnd:
    """How one sandboxed process ended: what it said, its log's tail, its cells' errors, each finished function's
    seconds (by index), and, when it stopped early, why (``reason``) and in which function (``broken_at``)."""

    state: ChildState
    log_tail: str
    cell_errors: dict[str, str]
    elapsed: dict[int, float]
    reason: str | None
    broken_at: int | None


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


class Runner:
    """Runs submissions of one problem set on its hidden cases for one seed, in the sandbox.

    ``calibrated`` holds the budgets of the functions timed against the master ({name: (master's seconds,
    budget)}); the grader sets it after its control run, and a Dask worker gets it with each submission."""

    def __init__(self, problem_set: ProblemSet, seed: int, limits: Limits = Limits(), workdir: str | None = None):
        self.problem_set = problem_set
        self.seed = seed
        self.limits = limits
        self.cases = {fn.name: fn.cases(seed) for fn in problem_set.functions}
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
        self.calibrated: dict[str, tuple[float, float]] = {}

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

    def _copy_sandbox(self, job: Path) -> None:
        """The sandbox's own code, and the problem set's drivers beside it, into the job folder."""
        target = job / "sandbox"
        target.mkdir()
        for name in SANDBOX_FILES:
            shutil.copyfile(SANDBOX_FOLDER / name, target / name)
        if self.problem_set.drivers_file and self.problem_set.drivers_file.exists():
            shutil.copyfile(self.problem_set.drivers_file, target / "ps_drivers.py")

    # ------------------------------------------------------------ running
    def run(self, cells: list[Cell], only: list[str] | None = None, probe: list[str] = ()) -> RunResult:
        """Run ``cells`` (the master's provided cells and the student's solution cells, in notebook order) and
        call the problem set's graded functions (``only`` these, if given) on their cases. Raises GraderFault.

        ``probe``: paths the sandboxed process tries to read before any notebook code runs (the control run's
        masters, gradebook and planted bugs); those it could read come back as ``readable``."""
        started = time.perf_counter()
        job = Path(tempfile.mkdtemp(prefix="job-", dir=self._root))
        functions = self.problem_set.functions
        wanted = [i for i, fn in enumerate(functions) if only is None or fn.name in only]
        outcomes: dict[int, list[dict] | str] = {}
        cell_errors: dict[str, str] = {}
        notes: list[str] = [c.note for c in cells if c.note]
        unfit = {c.id: c.unfit for c in cells if c.unfit}
        runnable = [c for c in cells if not c.unfit]
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
                end = self._run_child(job, group_cells, remaining, cap, first, imports,
                                      probe=list(probe) if first else [])
                if first and probe:
                    answer = self._read_probe(job)  # no answer: assume the worst
                    readable = [p for p in probe if answer is None or p in answer]  # in the probe's order
                first = False
                log_tail = end.log_tail
                cell_errors.update(end.cell_errors)
                function_seconds.update(end.elapsed)
                for index in end.state.done:
                    outcomes[index] = self._read_outcomes(job, index)
                if end.broken_at is None and not end.state.reached_functions:
                    where = f" while running cell '{end.state.cell}'" if end.state.cell else ""
                    notes.append(f"Your notebook's code {end.reason}{where}; no function could be graded.")
                    for index in remaining + later:
                        outcomes.setdefault(index, f"not graded: the notebook's code {end.reason}{where}")
                    break
                if end.broken_at is not None:
                    name = functions[end.broken_at].name
                    outcomes[end.broken_at] = end.reason + where_time_went(
                        end.reason, end.state.spent.get(end.broken_at, {}))
                    notes.append(f"{end.reason} in {name}.")
                remaining = [i for i in remaining if i not in outcomes]
        finally:
            shutil.rmtree(job, ignore_errors=True)
        name = lambda i: functions[i].name  # noqa: E731 (indices are the child protocol's; names leave this method)
        return RunResult(wanted=[name(i) for i in wanted], outcomes={name(i): v for i, v in outcomes.items()},
                         cell_errors=cell_errors, notes=notes, log_tail=log_tail, seconds=time.perf_counter() - started,
                         function_seconds={name(i): t for i, t in function_seconds.items()}, readable=readable)

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
                   first: bool = True, imports: tuple[str, ...] = (), probe: list[str] = ()) -> "_ProcessEnd":
        """One sandboxed process that runs ``cells`` then the functions ``run`` (indices), supervised to its end."""
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
        functions = self.problem_set.functions
        budgets = {i: self.time_limit(functions[i]) for i in run}
        clock = Deadlines(self.limits.setup_s, budgets, run, time.monotonic(), cap)
        state = ChildState(run=list(run), names={fn.name for fn in functions})
        watch = CpuWatch(marker, self.limits.cpu_s, {
            i: min(functions[i].cpu_s, self.limits.cpu_s) for i in run if functions[i].cpu_s})
        self.leftover_processes += supervise(process, read_fd, clock, watch, state)
        try:
            log_tail = untrusted.read_file(job / "log.txt", 0, tail=LOG_TAIL_BYTES).decode("utf-8", "replace")
        except untrusted.Untrusted:
            log_tail = ""
        if not state.booted and not (state.timed_out is not None and not first and clock.deadline >= clock.cap):
            # (a later process that the submission's own cap cut short is the submission's doing)
            reason = death_reason(state.returncode, state.timed_out, log_tail, state.out_of_cpu)
            raise GraderFault(f"the sandboxed Python {reason} before any notebook code ran "
                              f"(isolation: {self.isolation.mode})", log_tail)
        finished = state.returncode == 0 and state.timed_out is None and not state.out_of_cpu \
            and clock.current is None and len(state.done) == len(run)
        reason, broken_at = None, None
        if not finished:
            reason = death_reason(state.returncode, state.timed_out, log_tail, state.out_of_cpu)
            if state.reached_functions:
                # died inside a function, or between two: blame the first that did not finish
                pending = [i for i in run if i not in state.done]
                broken_at = clock.current if clock.current is not None else (pending[0] if pending else None)
        return _ProcessEnd(state, log_tail, self._read_cell_errors(job) if state.reached_functions else {},
                           dict(clock.elapsed), reason, broken_at)

    # ------------------------------------------------------------ reading what came back (hostile)
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
