# nbgrader's configuration for students' servers under JupyterHub (hub/jupyterhub_config.py passes the values, read
# from the course's own nbgrader_config.py, which students cannot read).
import os

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = os.environ["DLCOURSE_ID"]
c.Exchange.root = os.environ["DLCOURSE_EXCHANGE"]
c.Exchange.path_includes_course = True     # a fetched problem set lands in ~/<course_id>/<ps>/
