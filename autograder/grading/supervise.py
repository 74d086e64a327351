"""Process supervision: one sandboxed process, its deadlines, its progress lines, and its end.

Deadlines belong to this process alone. A process may take at most ``setup_s`` plus the sum of its functions'
budgets (and never past the submission's own cap across processes); each function's start is accepted once, in
order, and its deadline is the earlier of its own budget and that cap (:class:`Deadlines`). Nothing the student's
process writes can extend either.

The child speaks a line protocol on a pipe (``autograder/sandbox/child.py``): ``B`` booted, ``C <cell>`` running a
cell, ``R`` the graded functions are reached, ``S <i>`` / ``D <i>`` function *i* started / done, ``U <i> <name>
<seconds> <calls>`` time function *i* spent in the student's other graded functions. Every line is hostile text:
:func:`read_progress` keeps only what is well formed and in order. :func:`supervise` reads them until the child
closes the pipe, a deadline passes or the CPU watch fires; :func:`kill_group` and :func:`kill_marked` then make
sure nothing of the submission survives.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass, field

MAX_PROGRESS_BYTES = 2 ** 20       # progress lines from one process
EXIT_GRACE_S = 2.0                 # a child that finished on its own gets this long to report its exit code


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


def kill_marked(marker: str) -> int:
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


@dataclass
class ChildState:
    """What one sandboxed process told us through the protocol (``run``: the function indices it was to run)."""

    run: list[int]
    names: set[str]
    booted: bool = False
    cell: str | None = None                 # the cell running last, before the graded functions were reached
    reached_functions: bool = False
    done: list[int] = field(default_factory=list)
    spent: dict[int, dict[str, tuple[float, int]]] = field(default_factory=dict)
    timed_out: float | None = None          # the budget that ran out, if one did
    out_of_cpu: bool = False
    returncode: int | None = None


def read_progress(line: bytes, state: ChildState, clock: Deadlines) -> None:
    """One progress line from the child, read as hostile text."""
    kind, _, arg = line.decode("utf-8", "replace").partition(" ")
    now = time.monotonic()
    if kind == "B":
        state.booted = True
    elif kind == "C" and not state.reached_functions:
        state.cell = arg[:200]
    elif kind == "R":
        state.reached_functions = True
    elif kind == "S" and arg.isdigit() and state.reached_functions:
        clock.start(int(arg), now)
    elif kind == "D" and arg.isdigit() and clock.done(int(arg), now):
        state.done.append(int(arg))
    elif kind == "U" and state.reached_functions:
        # time spent in the student's other graded functions: kept only when it is well formed
        parts = arg.split(" ")
        try:
            index, name, seconds, calls = int(parts[0]), parts[1], float(parts[2]), int(parts[3])
        except (ValueError, IndexError):
            return
        if len(parts) == 4 and index in state.run and name in state.names and \
                0 <= seconds < 1e7 and 0 <= calls < 10 ** 15:
            state.spent.setdefault(index, {})[name] = (seconds, calls)


def kill_group(process: subprocess.Popen, grace_s: float = 0.0) -> None:
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


def supervise(process: subprocess.Popen, read_fd: int, clock: Deadlines, watch: CpuWatch,
              state: ChildState) -> int:
    """Read the child's progress from ``read_fd`` until it closes it, a deadline passes or it uses more CPU
    than allowed; then kill its process group and every process carrying its marker. Returns how many processes
    had escaped the group. ``state`` holds what it said, why it stopped and its exit code."""
    watching, next_poll = None, time.monotonic() + CpuWatch.POLL_S
    buffer, received = b"", 0
    try:
        while True:
            wait = clock.left(time.monotonic())
            if wait <= 0:
                state.timed_out = clock.budget
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
                    read_progress(line, state, clock)
            if clock.current != watching:
                watching = clock.current
                if watching is not None:
                    watch.start(watching)
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + CpuWatch.POLL_S
                if watch.over(clock.current):
                    state.out_of_cpu = True
                    break
    finally:
        os.close(read_fd)
        kill_group(process, grace_s=0 if state.timed_out or state.out_of_cpu else EXIT_GRACE_S)
        escaped = kill_marked(watch.marker)
    state.returncode = process.returncode
    return escaped
