"""The trust boundary is the layout, and a problem set is a folder.

The package has a folder per side, and what each folder may import is the architecture:

- ``sandbox/`` (and every problem set's ``drivers.py``) runs inside the sandbox, on student code: the standard
  library and NumPy only, nothing of the package. The trusted side never imports it: the runner copies the folder
  into each job.
- ``grading/`` is the trusted grading: it never runs student code, and it knows nothing of the commands built on it.
- ``instructor/`` (the commands) and ``authoring/`` (the self-check, the samples, the site) are built on ``grading/``.
- ``student/`` runs in the student's own kernel (the visible check, ``make lab``): the one folder that imports the
  sandbox's drivers and codec, to call the student's functions there as the sandbox would.
- ``problemsets/``: each problem set's registry sees the registry's model and the weeks' shared module only.
- Alone at the top: ``errors.py`` (the standard library only: the student edition ships it), ``config.py``,
  ``registry.py`` and ``cli.py``, the entry point, which may import anything.

A new problem set needs nothing outside its folder: a throw-away one, added to a copy of the package, is released
and graded through the real CLI.
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

import autograder
from autograder.authoring import samples

PACKAGE = Path(autograder.__file__).resolve().parent
# what the modules of each folder (or each top-level module) may import from the package, besides themselves
MAY_IMPORT = {
    "sandbox": set(),
    "grading": {"errors", "registry"},
    "instructor": {"errors", "config", "registry", "grading", "authoring", "problemsets"},
    "authoring": {"errors", "config", "registry", "grading", "instructor"},
    "student": {"errors", "config", "registry", "grading", "sandbox"},
    "problemsets": {"registry"},
    "errors.py": set(),
    "config.py": {"errors", "grading"},
    "registry.py": {"problemsets"},
    "cli.py": {"errors", "config", "registry", "grading", "instructor", "authoring", "student"},
    "__main__.py": {"cli"},
    "__init__.py": set(),
}


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports; ``from autograder import x`` counts as ``autograder.x``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            found.add(module)
            if module == "autograder":
                found.update(f"autograder.{alias.name}" for alias in node.names)
    return found


def sandbox_files() -> list[Path]:
    return sorted((PACKAGE / "sandbox").glob("*.py")) + sorted((PACKAGE / "problemsets").glob("*/drivers.py"))


@pytest.mark.parametrize("path", sandbox_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_sandbox_code_imports_only_the_standard_library_and_numpy(path):
    for module in imports_of(path):
        top = module.split(".")[0]
        assert top == "numpy" or top in sys.stdlib_module_names, f"{path.name} imports {module}"


def package_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", package_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_folder_imports_only_what_its_side_may(path):
    relative = path.relative_to(PACKAGE)
    side = relative.parts[0]
    if side == "student" and relative.parts[1:2] == ("edition",):
        side = "student"  # the edition's own files: the student's side, as shipped
    assert side in MAY_IMPORT, f"{relative}: a new folder or top-level module: say in MAY_IMPORT what it may import"
    allowed = MAY_IMPORT[side] | ({side} if path.parent != PACKAGE else set())
    if path.name == "drivers.py" and side == "problemsets":
        allowed = set()  # sandbox code: checked above, nothing of the package
    wrong = sorted(m for m in imports_of(path) if m.startswith("autograder.")
                   and m.split(".")[1].removesuffix(".py") not in allowed)
    assert wrong == [], f"{relative} imports {wrong}; the {side} side may import {sorted(allowed) or 'nothing'} from the package"


def test_no_problem_set_imports_another():
    for path in (PACKAGE / "problemsets").glob("ps*/**/*.py"):
        own = path.relative_to(PACKAGE / "problemsets").parts[0]
        others = [m for m in imports_of(path) if m.startswith("autograder.problemsets.ps")
                  and m.split(".")[2] != own]
        assert others == [], f"{path.relative_to(PACKAGE)} imports {others}: what weeks share goes in problemsets/_shared"


def test_the_runner_copies_the_whole_sandbox_folder():
    from autograder.grading import runner

    copied = set(runner.SANDBOX_FILES)
    present = {p.name for p in (PACKAGE / "sandbox").glob("*.py") if p.name != "__init__.py"}
    assert copied == present, "every sandbox module must travel with the job"


def test_samples_are_not_installed_for_students(tmp_path, repo):
    """The planted bugs and alternatives hold full solutions: the wheel leaves them out."""
    source = tmp_path / "source"  # setuptools builds in the source folder: build a copy, not the checkout
    source.mkdir()
    shutil.copy(repo / "pyproject.toml", source / "pyproject.toml")
    shutil.copytree(PACKAGE, source / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path / "wheel"), str(source)], capture_output=True, text=True, timeout=600,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    import zipfile

    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith("problemsets/ps1/__init__.py") for n in names)
    assert any(n.endswith("problemsets/ps2/drivers.py") for n in names)
    assert any(n.endswith("sandbox/child.py") for n in names)
    assert not [n for n in names if "/samples/" in n], "planted bugs and alternatives must not ship"


# ---------------------------------------------------------------- a throw-away problem set
REGISTRY = '''
"""A throw-away problem set: one graded function, graded through a driver that calls two student functions."""
import torch

from autograder.registry import Case, GradedFunction, ProblemSet


def cases(rng):
    return [Case(f"x of shape {(n, d)}, W of shape {(d, m)}",
                 (rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=(n, m))))
            for n, d, m in [(4, 3, 2), (1, 5, 3), (6, 2, 4), (3, 3, 3)]]


def reference(x, W, dout):
    x, W = x.clone().requires_grad_(True), W.clone().requires_grad_(True)
    return torch.autograd.grad(torch.relu(x @ W), (x, W), dout)


PROBLEM_SET = ProblemSet("ps99", "A throw-away problem set", (
    GradedFunction(name="relu_layer_backward", signature="relu_layer_backward(dout, cache)", returns=("dx", "dW"),
                   points=2, make_cases=cases, reference=reference, rtol=1e-9, atol=1e-12,
                   driver="forward_then_backward", time_limit_s=7.0),
))
'''

DRIVERS = '''
"""The student's forward feeds the student's backward, inside the sandbox."""


def forward_then_backward(namespace, name, args):
    x, W, dout = args
    out, cache = namespace["relu_layer_forward"](x, W)
    return namespace[name](dout, cache)


DRIVERS = {"forward_then_backward": forward_then_backward}
'''

FORWARD = '''def relu_layer_forward(x, W):
    """out = max(0, x W); returns (out, cache)."""
    ### BEGIN SOLUTION
    out = np.maximum(0.0, x @ W)
    return out, (x, W, out)
    ### END SOLUTION
'''

BACKWARD = '''def relu_layer_backward(dout, cache):
    """Gradients of the loss with respect to x and W; returns (dx, dW)."""
    ### BEGIN SOLUTION
    x, W, out = cache
    dpre = dout * (out > 0)
    return dpre @ W.T, x.T @ dpre
    ### END SOLUTION
'''


def master_notebook():
    def meta(grade_id, **flags):
        base = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": False,
                "task": False}
        return {"nbgrader": {**base, **flags}}

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("import numpy as np", metadata=meta("setup", locked=True)),
        nbformat.v4.new_code_cell(FORWARD, metadata=meta("relu_layer_forward", solution=True)),
        nbformat.v4.new_code_cell(BACKWARD, metadata=meta("relu_layer_backward", solution=True)),
        nbformat.v4.new_code_cell('from autograder.student.visible import check\n'
                                  'check("ps99", "relu_layer_backward", relu_layer_backward)',
                                  metadata=meta("test_relu_layer_backward", grade=True, locked=True, points=1)),
    ]
    return nb


def test_a_new_problem_set_is_one_folder(tmp_path, repo):
    package_copy = tmp_path / "package"
    shutil.copytree(PACKAGE, package_copy / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    folder = package_copy / "autograder" / "problemsets" / "ps99"
    folder.mkdir()
    (folder / "__init__.py").write_text(textwrap.dedent(REGISTRY))
    (folder / "drivers.py").write_text(textwrap.dedent(DRIVERS))
    # nothing else differs from the package
    diff = subprocess.run(["diff", "-rq", "-x", "__pycache__", str(PACKAGE), str(package_copy / "autograder")],
                          capture_output=True, text=True)
    assert diff.stdout.strip() == f"Only in {package_copy / 'autograder' / 'problemsets'}: ps99"

    course = tmp_path / "course"
    (course / "solutions" / "ps99").mkdir(parents=True)
    shutil.copy(repo / "nbgrader_config.py", course / "nbgrader_config.py")
    nbformat.write(master_notebook(), course / "solutions" / "ps99" / "ps99.ipynb")
    env = {**os.environ, "PYTHONPATH": str(package_copy)}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=course, capture_output=True,
                              text=True, timeout=600, env=env)

    run = cli("release", "ps99")
    assert run.returncode == 0, run.stdout + run.stderr
    release = nbformat.read(course / "assignments" / "ps99" / "ps99.ipynb", as_version=4)
    test_cell = next(c for c in release.cells if c.metadata["nbgrader"]["grade_id"] == "test_relu_layer_backward")
    # the points (2) and the time budget (7 s) come from the registry, not from the master's metadata (1)
    assert test_cell.metadata["nbgrader"]["points"] == 2 and "time budget 7 s" in test_cell.source

    master = nbformat.read(course / "solutions" / "ps99" / "ps99.ipynb", as_version=4)
    submissions = {
        "full": samples.full_solution(master, release),
        "blank": release,
        "bug_in_backward": samples.fill(release, {**samples.solution_sources(master), "relu_layer_backward":
                                                  samples.solution_sources(master)["relu_layer_backward"]
                                                  .replace("dpre @ W.T", "dout @ W.T")}),
        "bug_in_forward": samples.fill(release, {**samples.solution_sources(master), "relu_layer_forward":
                                                 samples.solution_sources(master)["relu_layer_forward"]
                                                 .replace("np.maximum(0.0, x @ W)", "np.abs(x @ W)")}),
    }
    for student, nb in submissions.items():
        path = course / "submitted" / student / "ps99" / "ps99.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    run = cli("autograde", "ps99")
    assert run.returncode == 0, run.stdout + run.stderr
    scores = {line.split()[0]: line.split()[-1] for line in run.stdout.splitlines()
              if line.split() and line.split()[0] in submissions}
    assert scores == {"full": "2", "blank": "0", "bug_in_backward": "0", "bug_in_forward": "0"}, run.stdout
