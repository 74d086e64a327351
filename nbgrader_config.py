# The repository root is the nbgrader course directory.
c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "dl-perceptron-to-lstm"
c.CourseDirectory.source_directory = "solutions"       # instructor masters (solutions, test cells' places)
c.CourseDirectory.release_directory = "assignments"    # student versions, generated and committed
# Must differ from "solutions": nbgrader's --force deletes the destination folder.
c.CourseDirectory.solution_directory = "solution_preview"
# The gradebook defaults to SQLite in this folder (gradebook.db). For PostgreSQL:
# c.CourseDirectory.db_url = "postgresql://grader:secret@localhost/dlcourse"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# The grading harness (python -m autograder): what each c.Harness setting means, its type and default are in
# docs/settings.md (or `python -m autograder settings`); a key that is no setting is refused. There is
# deliberately no grading seed here: every autograde run draws a fresh one and records it.
c.Harness.setup_s = 30        # seconds
c.Harness.memory_mb = 2048    # MiB
c.Harness.cpu_s = 300         # seconds
c.Harness.file_mb = 64        # MiB
c.Harness.open_files = 64
c.Harness.processes = 32
c.Harness.sandbox = "auto"    # or "bwrap", "unshare", "rlimits"; AUTOGRADER_SANDBOX overrides it
c.Harness.allowed_modules = ["numpy"]
# c.Harness.function_s = 10   # seconds; unset: each function's own budget
# c.Harness.jobs = 2          # unset: one per core
# c.Harness.scheduler = "tcp://grader-1:8786"   # a Dask cluster; unset: this machine

# `release` writes each graded function's test cell (its points, time budget and visible check) from the registry
# into the student version (autograder/instructor/release_plugin.py), before nbgrader's own steps.
from nbgrader.converters.generate_assignment import GenerateAssignment  # noqa: E402

c.GenerateAssignment.preprocessors = ["autograder.instructor.release_plugin.RegistryPoints",
                                      *GenerateAssignment.class_traits()["preprocessors"].default()]

# The nbgrader exchange: the instructor's `release` publishes each problem set into it, students fetch and submit
# from JupyterLab's Assignment List (or `nbgrader fetch_assignment` / `submit`), and `collect <ps>` with no folder
# collects from it, with the submission times. By default a folder of this course (git-ignored), for one machine;
# on a shared server point every user at one folder they can all reach, e.g. "/srv/nbgrader/exchange".
# Both paths are absolute (made from this file's folder): JupyterLab's Assignment List reads its configuration again
# from inside the students' folder (work/nbgrader_config.py, written by `make lab`, loads this file), where a relative
# path would point somewhere else.
from pathlib import Path  # noqa: E402

COURSE = Path(__file__).resolve().parent
c.Exchange.root = str(COURSE / "exchange")
c.Exchange.path_includes_course = True     # a fetched problem set lands in work/<course_id>/<ps>/
c.Exchange.assignment_dir = str(COURSE / "work")
