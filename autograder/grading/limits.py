"""What one submission may use: the course-wide maxima, set in nbgrader_config.py as ``c.Harness.*``.

The trusted process enforces them (``runner.py`` sets the deadlines and the resource limits of each sandboxed
process; ``isolation.py`` chooses how the process is confined); a registry entry may ask for less for its own
function, never more.
"""
from __future__ import annotations

from dataclasses import dataclass

from autograder.grading import policy


@dataclass(frozen=True)
class Limits:
    """Per-submission limits, the course-wide maxima. Configurable in nbgrader_config.py (``c.Harness.*``).

    A registry entry may ask for less memory or CPU for its own function (``memory_mb``,
    ``cpu_s``); it never gets more than these."""

    setup_s: float = 30.0          # wall time for the notebook's top-level code
    function_s: float | None = None  # overrides each graded function's own time limit
    memory_mb: int = 2048           # address space of the student's process
    cpu_s: int = 300                # CPU seconds of the student's process
    file_mb: int = 64               # largest file it may write (its stdout log included)
    open_files: int = 64
    processes: int = 32             # processes of the sandbox user (when it runs as 'nobody')
    sandbox: str = "auto"           # auto, bwrap, unshare or rlimits (see grading/isolation.py)
    # the submissions are your own (samples, tests): grade even where the sandbox can read the masters
    trusted_submissions: bool = False
    allowed_modules: tuple = policy.DEFAULT_ALLOWED  # besides the standard library
