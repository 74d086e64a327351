"""The import policy: graded functions are NumPy only (besides the standard library), unless their registry
entry says otherwise (``GradedFunction.imports``: problem set 6's PyTorch function may import torch).

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

A function allowed more than NumPy runs in a process of its own whose filesystem view also holds those
packages (and what they import themselves, ``PACKAGES``); every other function runs where they do not exist.
"""
DEFAULT_ALLOWED = ("numpy",)

PACKAGES = {
    # what `import torch` and torch.nn / torch.optim load (torch.optim imports torch._dynamo, which needs sympy)
    "torch": ("torch", "torchgen", "typing_extensions", "sympy", "mpmath"),
}
"""For each module a registry entry may allow: the top-level packages that must be importable with it."""


def packages_for(imports) -> tuple[str, ...]:
    """Every top-level package that the sandbox must hold for ``imports`` (NumPy is always there)."""
    found = []
    for name in imports:
        for package in PACKAGES.get(name, (name,)):
            if package not in found:
                found.append(package)
    return tuple(found)
