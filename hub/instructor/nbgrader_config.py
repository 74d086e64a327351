# nbgrader's configuration for instructors' servers under JupyterHub. A user's server starts in their home folder, and
# Formgrader reads nbgrader_config.py from there; this file (on JUPYTER_CONFIG_PATH, set by hub/jupyterhub_config.py)
# points it at the course folder instead and loads the course's own configuration.
import os

c = get_config()  # noqa: F821
load_subconfig("nbgrader_config.py", path=os.environ["DLCOURSE_DIR"])  # noqa: F821
c.CourseDirectory.root = os.environ["DLCOURSE_DIR"]
