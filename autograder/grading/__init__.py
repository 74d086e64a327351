"""The trusted side of grading. Nothing here runs student code, and nothing here imports ``autograder/sandbox/``.

One module per job, in the order a submission meets them:

- ``notebooks.py``   the submitted file, read as hostile, turned into the cells the sandbox runs; the feedback notebook;
- ``untrusted.py``   the static import scan and the bounded readers of everything the sandbox writes;
- ``policy.py``      which modules a graded function may import, and how a breach is said;
- ``limits.py``      what one submission may use (``c.Harness.*``);
- ``isolation.py``   how the sandboxed process is confined (bubblewrap, unshare, rlimits);
- ``supervise.py``   one sandboxed process: its deadlines, its progress protocol, its CPU, its end;
- ``runner.py``      a submission's processes, from cells to a ``RunResult`` keyed by function name;
- ``executors.py``   where runs happen: this machine's threads or a Dask cluster's workers;
- ``references.py``  the expected outputs, from the PyTorch references (CUDA when there is one);
- ``compare.py``     one output against the expected one, and where it first departs;
- ``judge.py``       outcomes into verdicts and feedback (shared with the visible check);
- ``grader.py``      a runner, the references and the judge, for one problem set at one seed;
- ``codec.py``       the arrays and values that travel to the sandbox.
"""
