"""What one submission may use: the course-wide maxima, set in nbgrader_config.py as ``c.Harness.*``.

The trusted process enforces them (``runner.py`` sets the deadlines and the resource limits of each sandboxed
process; ``isolation.py`` chooses how the process is confined); a registry entry may ask for less for its own
function, never more.

:class:`Limits` is a plain frozen dataclass, what the grading code passes around (to the sandboxed runs, to Dask
workers); it does not depend on traitlets. ``Course.load`` builds it from the settings, the traits of
:class:`autograder.config.Harness`, which hold each one's type, check and help (docs/settings.md); the defaults
here are the same as theirs (tests/test_config.py checks it).
"""
from __future__ import annotations

from dataclasses import dataclass

from autograder.grading import policy


@dataclass(frozen=True)
class Limits:
    """Per-submission limits, the course-wide maxima (``c.Harness.<field>``; see ``autograder.config.Harness``).

    A registry entry may ask for less memory or CPU for its own function (``memory_mb``,
    ``cpu_s``); it never gets more than these."""

    setup_s: float = 30.0
    function_s: float | None = None
    memory_mb: int = 2048
    cpu_s: int = 300
    file_mb: int = 64
    open_files: int = 64
    processes: int = 32
    sandbox: str = "auto"
    trusted_submissions: bool = False
    allowed_modules: tuple = policy.DEFAULT_ALLOWED
