"""Every error the package raises on purpose, in one place, by who can fix it.

- The instructor: :class:`UserError` and its kinds (a setting, a refused grading run, an edition or a site that
  could not be written). The command line prints the message and exits with 2 (3 for a refused grading run).
- Nobody in the class: :class:`GraderFault`, the grader failed before any student code ran; the submission is
  reported and never recorded as a zero.
- The student: :class:`SubmissionError`, a submitted file that cannot be read as a notebook; it scores 0 and says why.

The student edition ships this module (its ``config.py`` needs :class:`SettingsError`): nothing here may import
more than the standard library.
"""
from __future__ import annotations


class UserError(Exception):
    """Something the instructor can fix; the message says what."""


class SettingsError(UserError, ValueError):
    """A setting in nbgrader_config.py (or the environment) that the instructor must change."""


class GradingRefused(UserError):
    """The control submission failed: nothing was recorded. The message says why and what to do."""


class PublishError(UserError):
    """The edition could not be written as asked (the message says why); nothing of the course was changed."""


class SiteError(UserError):
    """The site could not be built (the message says why)."""


class GraderFault(Exception):
    """The sandbox failed before any student code ran: the grader's fault, never the student's.

    ``log`` is the tail of what the sandboxed process printed (its stderr included)."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.log = log


class SubmissionError(Exception):
    """A submitted file that cannot be graded as a notebook (the message says why, for the student)."""
