"""Where submissions run: this machine's pool (the default) or the workers of a Dask cluster.

Either way a submission runs in the same sandbox with the same limits, and only what ``Runner.run`` brings back
(a ``RunResult``, plain data: outcomes, the cells' errors, notes, the log's tail, seconds) comes to the instructor's process, which
alone judges it against the references and records it.

``LocalExecutor``  the grader's runner in this process's threads (``jobs`` at a time).
``DaskExecutor``   ``run_on_worker`` on a Dask worker. The worker makes its own runner for the problem set and seed
                   (a ``Runner``: the hidden cases, never the references), with the time budgets
                   the instructor's control run calibrated, and returns the raw result encoded as bounded JSON plus
                   an ``.npz`` of arrays (no pickles), which this process reads with the same limits as any sandbox
                   output. A worker that dies mid-submission costs that submission a retry (Dask reschedules it);
                   after the retries the submission is a grader fault, reported and never recorded as 0.

A worker needs this package, NumPy (and torch for the functions that may import it) and bubblewrap: the sandbox's
network namespace is what keeps student code away from the scheduler, so a worker refuses to run submissions
without one (``rlimits`` isolation).
"""
from __future__ import annotations

import dataclasses
import io
import json
import threading

import numpy as np

from autograder.grading import codec, untrusted
from autograder.errors import GraderFault
from autograder.grading.limits import Limits
from autograder.grading.runner import Cell, RunResult, Runner
from autograder.registry import get_problem_set

MAX_PAYLOAD_BYTES = 64 * 2 ** 20     # one submission's raw result from a worker, at most
RETRIES = 2                          # a submission whose worker died is run again this many times


# ------------------------------------------------------------------ the raw result as plain data
def encode_raw(raw: RunResult) -> bytes:
    """A ``RunResult`` as JSON and its arrays as an uncompressed .npz, in one length-prefixed blob."""
    arrays: dict[str, np.ndarray] = {}

    def outcome(item):
        if isinstance(item, str):
            return {"reason": item}
        cases = []
        for case in item:
            if "value" in case:
                cases.append({"value": codec.encode(case["value"], arrays)})
            else:
                cases.append({"error": str(case.get("error", ""))})
        return {"cases": cases}

    document = {
        "outcomes": {name: outcome(v) for name, v in raw.outcomes.items()},
        "cell_errors": raw.cell_errors, "notes": raw.notes, "log_tail": raw.log_tail,
        "wanted": raw.wanted, "seconds": raw.seconds, "function_seconds": raw.function_seconds,
    }
    text = json.dumps(document).encode()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return len(text).to_bytes(8, "big") + text + buffer.getvalue()


def decode_raw(payload, names: list[str]) -> RunResult:
    """What ``encode_raw`` wrote, read as hostile: bounded sizes and depth, no pickles, every field checked;
    ``names``: the problem set's graded functions, the only keys a result may have."""
    if not isinstance(payload, bytes) or len(payload) > MAX_PAYLOAD_BYTES or len(payload) < 8:
        raise untrusted.Untrusted("a worker returned something other than a bounded result")
    size = int.from_bytes(payload[:8], "big")
    if size > len(payload) - 8:
        raise untrusted.Untrusted("a worker's result is cut short")
    document = untrusted.load_json(payload[8:8 + size], max_bytes=MAX_PAYLOAD_BYTES)
    arrays = untrusted.load_npz(payload[8 + size:], max_bytes=MAX_PAYLOAD_BYTES)
    if not isinstance(document, dict):
        raise untrusted.Untrusted("a worker's result is not a mapping")

    known = set(names)

    def function_name(key) -> str:
        if not isinstance(key, str) or key not in known:
            raise untrusted.Untrusted(f"a worker's result names function {str(key)[:80]!r}, not one of the problem set's")
        return key

    outcomes = {}
    for key, item in dict(document.get("outcomes", {})).items():
        if isinstance(item, dict) and isinstance(item.get("reason"), str):
            outcomes[function_name(key)] = item["reason"][:2000]
            continue
        cases = []
        for case in list(item.get("cases", []))[:10_000] if isinstance(item, dict) else []:
            if isinstance(case, dict) and "value" in case:
                try:
                    cases.append({"value": untrusted.decode_value(case["value"], arrays)})
                except untrusted.Untrusted as error:
                    cases.append({"error": str(error)})
            else:
                cases.append({"error": str(case.get("error", "unknown error"))[:2000] if isinstance(case, dict)
                              else "unknown error"})
        outcomes[function_name(key)] = cases
    wanted = [function_name(name) for name in list(document.get("wanted", []))[:len(names)]]
    return RunResult(
        wanted=wanted,
        outcomes=outcomes,
        cell_errors={str(k)[:200]: str(v)[:2000] for k, v in list(dict(document.get("cell_errors", {})).items())[:1000]},
        notes=[str(n)[:2000] for n in list(document.get("notes", []))[:100]],
        log_tail=str(document.get("log_tail", ""))[-8000:],
        seconds=float(document.get("seconds", 0.0)),
        function_seconds={function_name(k): float(v) for k, v in dict(document.get("function_seconds", {})).items()},
    )


# ------------------------------------------------------------------ the worker's side
_runners: dict[str, Runner] = {}
_runners_lock = threading.Lock()


def _worker_directory() -> str | None:
    """The Dask worker's own scratch folder, which Dask removes when the worker stops (a worker killed mid-run
    cannot close its runner); None (the system's temporary folder) outside a worker."""
    try:
        from distributed import get_worker

        return get_worker().local_directory
    except (ImportError, ValueError, AttributeError):
        return None


def run_on_worker(spec: dict, cells: list[dict]) -> bytes:
    """On a Dask worker: run one submission in the sandbox and return the encoded raw result. ``spec`` names the
    problem set, the seed, the limits and the calibrated budgets; the runner for them is made once per worker."""
    key = json.dumps({k: spec[k] for k in ("problem_set", "seed", "limits")}, sort_keys=True)
    with _runners_lock:
        runner = _runners.get(key)
        if runner is None:
            limits = Limits(**{**spec["limits"], "allowed_modules": tuple(spec["limits"]["allowed_modules"])})
            runner = Runner(get_problem_set(spec["problem_set"]), int(spec["seed"]), limits,
                            workdir=_worker_directory())
            if runner.isolation.mode == "rlimits":
                runner.close()
                raise GraderFault("this Dask worker has no sandbox with its own network namespace (bubblewrap, or "
                                  "unshare as root): student code could reach the scheduler. Install bubblewrap "
                                  "on every worker machine.")
            for old in list(_runners):
                _runners.pop(old).close()            # one run at a time per worker: drop the previous one
            _runners[key] = runner
        runner.calibrated = {name: tuple(v) for name, v in spec.get("budgets", {}).items()}
    raw = runner.run([Cell(**cell) for cell in cells])
    return encode_raw(raw)


# ------------------------------------------------------------------ the instructor's side
class LocalExecutor:
    """Submissions in this machine's sandbox, ``jobs`` at a time (the default, nothing to set up)."""

    def __init__(self, grader, jobs: int):
        self.grader, self.slots = grader, max(1, int(jobs))

    def describe(self) -> str:
        return f"{self.slots} local job(s)"

    def run(self, cells: list[Cell]) -> RunResult:
        return self.grader.run(cells)

    def close(self) -> None:
        pass


class DaskExecutor:
    """Submissions on the workers of the Dask cluster at ``scheduler`` (``tcp://host:8786``, or a ``Client``)."""

    def __init__(self, grader, scheduler, retries: int = RETRIES, timeout_s: float = 60):
        try:
            from distributed import Client
        except ImportError as error:
            raise RuntimeError("Dask is not installed: pip install -e '.[dask]'") from error
        self.grader, self.retries = grader, retries
        self._own = not isinstance(scheduler, Client)
        self.client = Client(scheduler, timeout=timeout_s, set_as_default=False) if self._own else scheduler
        self.address = self.client.scheduler.address
        try:
            info = self.client.scheduler_info(n_workers=-1)   # every worker (newer Dask lists 5 by default)
        except TypeError:
            info = self.client.scheduler_info()
        workers = info.get("workers", {})
        if not workers:
            self.close()
            raise RuntimeError(f"the Dask scheduler at {self.address} has no workers")
        self.slots = sum(int(w.get("nthreads", 1)) for w in workers.values())
        limits = dataclasses.asdict(grader.limits)
        limits["allowed_modules"] = list(limits["allowed_modules"])
        self.spec = {"problem_set": grader.problem_set.name, "seed": grader.seed, "limits": limits,
                     "budgets": {name: list(v) for name, v in grader.calibrated.items()}}

    def describe(self) -> str:
        return f"Dask at {self.address}: {self.slots} worker thread(s)"

    def run(self, cells: list[Cell]) -> RunResult:
        from distributed import KilledWorker

        future = self.client.submit(run_on_worker, self.spec, [dataclasses.asdict(c) for c in cells],
                                    pure=False, retries=self.retries)
        try:
            payload = future.result()
        except KilledWorker:
            raise GraderFault("the Dask worker running this submission died, and so did every retry (the "
                              "scheduler's distributed.scheduler.allowed-failures); nothing was recorded") from None
        except GraderFault:
            raise
        except Exception as error:      # the worker's own failure (not the student's: that comes back as data)
            raise GraderFault(f"the Dask worker failed: {type(error).__name__}: {error}") from None
        finally:
            future.release()
        try:
            return decode_raw(payload, [fn.name for fn in self.grader.problem_set.functions])
        except untrusted.Untrusted as error:
            raise GraderFault(f"a Dask worker returned a result the grader could not read: {error}") from None

    def close(self) -> None:
        if self._own:
            self.client.close()


def executor_for(grader, jobs: int, scheduler=None):
    """Where ``grader`` (a ``grader.Grader``) runs the submissions: this machine, or the Dask cluster at ``scheduler``."""
    return DaskExecutor(grader, scheduler) if scheduler else LocalExecutor(grader, jobs)
