"""How the sandbox calls a student's function: the drivers every problem set shares.

A driver is ``driver(namespace, name, args) -> value``: it receives the student's whole
namespace (the functions as each was right after its own cell ran), so a driver can
call ``conv_forward`` and feed its output to ``conv_backward``. A problem set adds its
own in ``autograder/problemsets/<ps>/drivers.py`` (NumPy only; copied into each job).
The visible checks in the student's notebook call the same drivers.
"""


def call(namespace, name, args):
    """The plain driver: call the graded function once with the case's arguments."""
    return namespace[name](*args)


DRIVERS = {"call": call}
