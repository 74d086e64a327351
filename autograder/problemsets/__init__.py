"""One folder per problem set: ``<ps>/__init__.py`` defines ``PROBLEM_SET`` (its registry), ``drivers.py``
its sandbox drivers, ``samples/`` its planted bugs and correct alternatives (see ``autograder/registry.py``)."""
