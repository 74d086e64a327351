"""The import policy: graded functions are NumPy only.

Checked twice: statically here, on the student's source (the grader's process parses it,
never runs it), and at run time by the sandbox, which reports modules that a graded
function imported while it ran. Either finding costs that function its points and is
named in the feedback.
"""
from __future__ import annotations

import ast
import sys

DEFAULT_ALLOWED = ("numpy",)


def is_allowed(module: str, allowed=DEFAULT_ALLOWED) -> bool:
    top = module.split(".")[0]
    return top in allowed or top in sys.stdlib_module_names


def forbidden_imports(source: str, allowed=DEFAULT_ALLOWED) -> list[str]:
    """Top-level names of the modules ``source`` imports that the policy forbids."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("__import__", "import_module"):
                found.add(node.args[0].value)
    return sorted({m.split(".")[0] for m in found if not is_allowed(m, allowed)})
