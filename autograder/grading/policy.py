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
import ast

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


def forbidden_imports_message(source: str, banned: list[str]) -> str:
    """Where each forbidden import is: inside which function, or at the top level of the cell
    (a copied ``check(...)`` line, typically). ``source`` already parsed safely in untrusted.scan_imports."""
    places = []
    for statement in ast.parse(source).body:
        inside = statement.name if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
        for node in ast.walk(statement):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                modules = [node.args[0].value]
            else:
                continue
            for module in modules:
                if module.split(".")[0] in banned:
                    where = f"inside {inside}" if inside else "at the top level of the cell, outside every function"
                    places.append(f"{module.split('.')[0]} (line {node.lineno}, {where})")
    places = list(dict.fromkeys(places)) or banned
    text = f"imports {', '.join(places[:5])}"
    if any("top level" in p for p in places):
        text += ("; the grader calls your functions itself, so a copied check(...) or other import at the top "
                 "level is not needed")
    return text


def may_use(fn) -> str:
    """What a graded function may import, as the feedback says it."""
    if not fn.imports:
        return "graded functions may use NumPy only"
    return f"{fn.name} may use NumPy and {', '.join(fn.imports)} only"
