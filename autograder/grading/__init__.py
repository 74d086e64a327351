"""The trusted side of grading: the runner, the judge, the bounded readers of sandbox output.

Nothing here runs student code, and nothing here imports ``autograder/sandbox/``.
"""
