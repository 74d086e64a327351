"""The import policy: graded functions are NumPy only (besides the standard library).

Which layer guarantees what:

- **bubblewrap's filesystem view** enforces it: only the standard library and NumPy exist
  in the sandbox (``grading/isolation.py``), so importing anything else fails there.
- **The static scan** (``grading/untrusted.scan_imports``, in the trusted process, on the
  source, never run) costs a function its points when its cell imports another module, and
  says where.
- **The run-time report** of modules imported while a graded function ran comes from the
  student's own process, so it is advisory: it explains a failure, it guarantees nothing.

Without bubblewrap (the ``unshare`` and ``rlimits`` levels), only the static scan and the
advisory report remain: a determined student could reach other installed packages.
"""
DEFAULT_ALLOWED = ("numpy",)
