"""Runs one student's solution cells and calls their graded functions, inside the sandbox.

This folder (``autograder/sandbox/``) is copied into each fresh job folder, with the problem
set's own ``drivers.py`` beside it as ``ps_drivers.py``, and started as its own process
(``python -I -S sandbox/child.py JOB_DIR``). It imports the standard library, NumPy and its
two neighbours (codec, drivers), never anything from the trusted side: no PyTorch, no
references, no expected outputs. Everything it writes is plain data (JSON and uncompressed
``.npz`` arrays); the trusted process reads it through bounded readers and decides.

Protocol, on the descriptor named in job.json: "B" once Python, NumPy and the inputs are
loaded (before any notebook code runs: a process that dies earlier is the grader's fault),
"C <cell>" before each cell (after ``probe.json``, when job.json names paths to try), "R" when the cells are done, "S <i>" / "D <i>" around graded
function number i. The trusted side only ever *shortens* deadlines from these lines, so
student code that writes to the descriptor gains nothing. Results go to
``result_<i>.json`` and ``result_<i>.npz``.
"""
import copy
import importlib.util
import json
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_MESSAGE = 2000


def _load(name):
    path = os.path.join(HERE, f"{name}.py")
    if not os.path.exists(path):
        return None
    spec = importlib.util.spec_from_file_location(f"_autograder_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a problem set's drivers reach the shared ones as _autograder_drivers
    spec.loader.exec_module(module)
    return module


class _NoIPython:
    """Stands in for ``get_ipython()``: magics such as %matplotlib do nothing here."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _display(*objects, **kwargs):
    """Stands in for IPython's ``display``: nothing is shown while grading."""
    return None


def short_traceback(error, limit=MAX_MESSAGE):
    """The student's part of a traceback, without the harness frames."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith("<")]
    lines = [f"  {f.filename}, line {f.lineno}, in {f.name}" for f in frames[-5:]]
    text = "\n".join(lines + [f"{type(error).__name__}: {error}"])
    return text[-limit:]


def set_limits(limits, soft=None):
    """Hard limits: the course-wide maxima. ``soft`` lowers some of them for one function."""
    import resource

    for name, value in limits.items():
        which = getattr(resource, name, None)
        if which is None:
            continue
        try:
            resource.setrlimit(which, (min(value, (soft or {}).get(name, value)), value))
        except (ValueError, OSError):
            pass


def function_limits(fn, hard):
    """Soft limits for one graded function (its registry entry may ask for less than the maxima)."""
    import resource

    soft = {}
    if fn.get("memory_mb"):
        soft["RLIMIT_AS"] = int(fn["memory_mb"]) * 2 ** 20
    if fn.get("cpu_s") and "RLIMIT_CPU" in hard:
        used = resource.getrusage(resource.RUSAGE_SELF)
        soft["RLIMIT_CPU"] = int(used.ru_utime + used.ru_stime) + int(fn["cpu_s"]) + 1
    return soft


def stay_out_of_pid_1():
    """Without an init of its own (``unshare --pid --fork``), this process is PID 1 of its namespace, and the
    kernel shields PID 1 from every signal it has no handler for: SIGXCPU, the CPU limit, would be ignored.
    So PID 1 forks; the parent only reaps and exits as its child did (128 + the signal's number for a
    signal, as bwrap and unshare report it), and the child, an ordinary process, goes on with the job.
    When PID 1 exits, the kernel kills whatever is left in the namespace."""
    if os.getpid() != 1:
        return
    child = os.fork()
    if child == 0:
        return
    os.closerange(3, 1 << 16)  # the progress descriptor among them: its end is the child's to close
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
        if pid == child:
            os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


def probe(paths, job_dir):
    """Which of ``paths`` (the control run's: the masters, the gradebook, the planted bugs) this process can read,
    tried before any notebook code runs; written to probe.json for the trusted side."""
    readable = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                f.read(1)
            readable.append(path)
        except OSError:
            continue
    if paths:
        with open(os.path.join(job_dir, "probe.json"), "w") as f:
            json.dump(readable, f)


class TimeSpent:
    """Where a graded function's time goes: while it is graded, the student's other graded functions (as its code
    finds them, in the notebook's namespace) are timed, and the totals are reported on the progress channel
    (``U <index> <name> <seconds> <calls>``) at most twice a second and when it is done, so that a timeout can say
    which of them took the time even when this process is killed."""

    EVERY_S = 0.5

    def __init__(self, say):
        import time

        self.say, self.clock = say, time.perf_counter
        self.totals, self.index, self.last = {}, None, 0.0

    def report(self, force=False):
        now = self.clock()
        if force or now - self.last >= self.EVERY_S:
            self.last = now
            for name, (seconds, calls) in self.totals.items():
                self.say(f"U {self.index} {name} {seconds:.3f} {calls}")

    def _timed(self, function, name):
        import functools

        @functools.wraps(function)
        def timed(*args, **kwargs):
            start = self.clock()
            try:
                return function(*args, **kwargs)
            finally:
                total = self.totals.setdefault(name, [0.0, 0])
                total[0] += self.clock() - start
                total[1] += 1
                self.report()

        return timed

    def watch(self, namespace, names, index):
        """Time ``names`` in ``namespace`` for the function ``index``; returns the originals, to be put back."""
        self.totals, self.index, self.last = {}, index, self.clock()
        originals = {n: namespace[n] for n in names if callable(namespace.get(n))}
        for name, function in originals.items():
            namespace[name] = self._timed(function, name)
        return originals


def main(job_dir):
    stay_out_of_pid_1()
    with open(os.path.join(job_dir, "job.json")) as f:
        job = json.load(f)
    progress = os.fdopen(job["progress_fd"], "w", buffering=1)

    def say(line):
        try:
            progress.write(line + "\n")
            progress.flush()
        except Exception:
            pass

    hard = job.get("rlimits", {})
    set_limits(hard)
    sys.path[:0] = job.get("sys_path", [])
    import numpy as np

    codec, drivers, ps_drivers = _load("codec"), _load("drivers"), _load("ps_drivers")
    known_drivers = dict(drivers.DRIVERS)
    if ps_drivers is not None:
        known_drivers.update(getattr(ps_drivers, "DRIVERS", {}))
    with np.load(os.path.join(job_dir, "inputs.npz"), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    functions = job["functions"]
    cases = [[codec.decode(spec, arrays) for spec in fn["cases"]] for fn in functions]
    say("B")
    probe(job.get("probe", []), job_dir)

    namespace = {"__name__": "__main__", "get_ipython": _NoIPython, "display": _display}
    graded_names = {fn["name"] for fn in functions}
    captured = {}  # each graded function as it was right after its own cell ran
    cell_errors = {}
    for cell in job["cells"]:
        say(f"C {cell['id']}")
        try:
            exec(compile(cell["source"], f"<cell {cell['id']}>", "exec"), namespace)
        except BaseException as error:  # SystemExit and KeyboardInterrupt included
            cell_errors[cell["id"]] = short_traceback(error)
        if cell["id"] in graded_names:
            captured[cell["id"]] = namespace.get(cell["id"])
    with open(os.path.join(job_dir, "cells.json"), "w") as f:
        json.dump(cell_errors, f)
    say("R")

    allowed = set(job.get("allowed_modules", ["numpy"])) | set(sys.stdlib_module_names)
    stdlib_dir = os.path.dirname(os.__file__) + os.sep
    view = dict(namespace)
    view.update({k: v for k, v in captured.items() if v is not None})
    view = drivers.guard_inputs(view, {fn["name"]: fn.get("signature", "") for fn in functions},
                                getattr(ps_drivers, "MAY_CHANGE", {}) if ps_drivers is not None else {})
    spent = TimeSpent(say)
    for index in job["run"]:
        fn = functions[index]
        modules_before = set(sys.modules)
        say(f"S {index}")
        set_limits(hard, function_limits(fn, hard))
        outcomes, out_arrays = [], {}
        driver = known_drivers.get(fn["driver"])
        others = spent.watch(namespace, graded_names - {fn["name"]}, index)
        for args in cases[index]:
            if not callable(view.get(fn["name"])):
                outcomes.append({"error": f"{fn['name']} is not defined (or not a function)"})
                continue
            try:
                value = driver(view, fn["name"], [copy.deepcopy(a) for a in args])
                outcomes.append({"value": codec.encode(value, out_arrays, np)})
            except BaseException as error:
                message = short_traceback(error)
                if getattr(error, "errno", None) == 27:  # EFBIG: over RLIMIT_FSIZE
                    limit = hard.get("RLIMIT_FSIZE", 0) // 2 ** 20
                    message = f"wrote more output than the {limit} MiB limit (File too large)"
                elif isinstance(error, MemoryError):
                    limit = function_limits(fn, hard).get("RLIMIT_AS", hard.get("RLIMIT_AS", 0)) // 2 ** 20
                    message += f"\n(out of memory: the limit for {fn['name']} is {limit} MiB)"
                outcomes.append({"error": message})
                if isinstance(error, MemoryError) or getattr(error, "errno", None) == 27:
                    break  # out of memory or over the output limit: the other cases would only repeat it
        namespace.update(others)
        spent.report(force=True)
        set_limits(hard)
        # modules without a file are runtime artefacts (Cython's shared-type modules, for example); files of the
        # standard library's own folder are the standard library, named in stdlib_module_names or not
        # (_sysconfigdata_*, which torch loads)
        imported = {m.split(".")[0] for m in set(sys.modules) - modules_before
                    if getattr(sys.modules.get(m), "__file__", None)
                    and not str(sys.modules[m].__file__).startswith(stdlib_dir)}
        np.savez(os.path.join(job_dir, f"result_{index}.npz"), **out_arrays)
        with open(os.path.join(job_dir, f"result_{index}.json"), "w") as f:
            json.dump({"outcomes": outcomes, "imports": sorted(imported - allowed)}, f)
        say(f"D {index}")
    progress.close()
    os._exit(0)  # skip interpreter teardown: student atexit hooks and __del__ never run


if __name__ == "__main__":
    main(sys.argv[1])
