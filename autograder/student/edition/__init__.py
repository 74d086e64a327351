"""The student edition: what `python -m autograder publish DIR` writes for students to clone.

This folder holds the edition's own files (its visible check, its entry point, its README, Makefile and
pyproject); ``autograder/instructor/publish.py`` writes them with the lectures, the releases, the modules the check shares
with the grader (the judge, the comparison, the drivers, the codec) and the visible cases' fixtures. Nothing here is
imported by the instructor's side.
"""
