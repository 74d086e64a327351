"""The instructor's commands, one module per command, and what they use.

- ``releases``: ``release`` (the student version from the master, into the exchange);
- ``collection``: ``collect`` (submissions from a folder, a zip or the exchange);
- ``grading_run``: ``autograde`` (the control run, then every submission through the sandbox, into the gradebook);
- ``grades``: ``feedback`` and the grade table;
- ``lms``: grades for Canvas, Moodle and CSV; ``report``: the class report; ``similarity``: copied code;
- ``publish``: the student edition; ``demo``: the whole cycle on a sample class; ``gradebook``: nbgrader's database;
- ``release_plugin``: the nbgrader preprocessor that writes the registry into a release;
- ``common``: nbgrader itself, student ids, what has been submitted and released.

The commands are also here, by name: ``instructor.release(course, "ps1")``, ``instructor.autograde(...)``.
"""
from autograder.instructor.collection import collect
from autograder.instructor.common import STUDENT_ID, exchange_root, nbgrader, submissions
from autograder.instructor.grades import feedback, format_table, table
from autograder.instructor.grading_run import GradingRun, autograde
from autograder.instructor.releases import release, release_to_exchange

__all__ = ["GradingRun", "STUDENT_ID", "autograde", "collect", "exchange_root", "feedback", "format_table", "nbgrader",
           "release", "release_to_exchange", "submissions", "table"]
