"""Run in a student edition (PYTHONPATH=<edition>): every graded function of a problem set through the edition's
visible check, from a notebook's solution cells; prints one JSON line {function: "passed" or the message}.

    python tests/edition_check.py NOTEBOOK PS
"""
import contextlib
import io
import json
import sys

import nbformat

nb_path, problem_set = sys.argv[1], sys.argv[2]
import autograder.student.visible as visible  # noqa: E402  (the edition's, from PYTHONPATH)

assert "fixtures" in visible.__file__ or hasattr(visible, "FIXTURES"), visible.__file__
namespace = {"__name__": "__main__", "get_ipython": lambda: None}
nb = nbformat.read(nb_path, as_version=4)
for cell in nb.cells:
    meta = cell.metadata.get("nbgrader", {})
    if cell.cell_type != "code" or meta.get("grade") or "grader-skip" in cell.metadata.get("tags", []):
        continue
    source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            exec(compile(source, "<cell>", "exec"), namespace)
        except NotImplementedError:
            pass
document, _ = visible._fixture(problem_set)
verdicts = {}
for name in document["functions"]:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            visible.check(problem_set, name, namespace.get(name), namespace=namespace)
        verdicts[name] = "passed: " + out.getvalue().strip()
    except AssertionError as error:
        verdicts[name] = f"failed: {error}"
print(json.dumps({"verdicts": visible.__file__ and verdicts, "module": visible.__file__,
                  "registry": "autograder.registry" in sys.modules}))
