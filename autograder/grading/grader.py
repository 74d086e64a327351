"""The grader of one problem set at one seed: a runner, the references, and the judge, put together.

- :class:`~autograder.grading.runner.Runner` runs each submission in the sandbox and brings back plain data;
- :class:`~autograder.grading.references.References` holds the hidden cases' expected outputs, computed once,
  when the grader is made, and reused for every student of the run;
- :func:`~autograder.grading.judge.judge_submission` turns what came back into verdicts and feedback.

Only the runner's part can move to a Dask worker (``executors.py``); the references and the verdicts stay here.
"""
from __future__ import annotations

from autograder.grading.judge import SubmissionResult, judge_submission
from autograder.grading.limits import Limits
from autograder.grading.references import References
from autograder.grading.runner import Cell, RunResult, Runner
from autograder.registry import ProblemSet


class Grader:
    """Grades submissions of one problem set with one seed (the run's hidden cases)."""

    def __init__(self, problem_set: ProblemSet, seed: int, limits: Limits = Limits(), workdir: str | None = None):
        self.runner = Runner(problem_set, seed, limits, workdir)
        self.references = References.compute(problem_set, seed, self.runner.cases)

    # what a caller reads about the run
    problem_set = property(lambda self: self.runner.problem_set)
    seed = property(lambda self: self.runner.seed)
    limits = property(lambda self: self.runner.limits)
    isolation = property(lambda self: self.runner.isolation)
    calibrated = property(lambda self: self.runner.calibrated)
    leftover_processes = property(lambda self: self.runner.leftover_processes)
    cases = property(lambda self: self.references.cases)
    expected = property(lambda self: self.references.expected)

    def close(self):
        self.runner.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def sandbox_needs(self):
        return self.runner.sandbox_needs()

    def run(self, cells: list[Cell], only: list[str] | None = None, probe: list[str] = ()) -> RunResult:
        return self.runner.run(cells, only, probe)

    def judge(self, run: RunResult) -> SubmissionResult:
        """The verdicts on what ``run`` brought back, against the expected outputs of this run's cases."""
        return judge_submission(self.problem_set, self.references, run, self.runner.calibrated)

    def grade(self, cells: list[Cell], only: list[str] | None = None) -> SubmissionResult:
        """Run ``cells`` and judge the problem set's functions (``only`` these, if given)."""
        return self.judge(self.run(cells, only))

    def calibrate(self, control: RunResult) -> dict[str, tuple[float, float]]:
        """Budgets of the functions with ``budget_vs_master``, from the master's times in ``control`` (the control
        submission's run): {name: (master's seconds, budget)}. The runner uses them from now on."""
        for fn in self.problem_set.functions:
            seconds = control.function_seconds.get(fn.name)
            if fn.budget_vs_master and seconds is not None:
                self.runner.calibrated[fn.name] = (seconds, max(fn.min_budget_s, fn.budget_vs_master * seconds))
        return dict(self.runner.calibrated)
