"""What an instructor sees after ``autograder demo --seed N``, as one JSON document without the clock in it.

The package's redesign must not change a grade, a message, a report or an exit code. ``test_demo`` runs the demo
at a fixed seed and compares this snapshot of it with ``tests/data/behaviour.json``, which was written by the code
before the redesign::

    python -m autograder demo --seed 20261206 && python tests/behaviour.py demo > tests/data/behaviour.json

Left out or masked, because they measure the machine rather than the grader: seconds (run times, budgets and
the times in a timeout's message), the seed's echo, the report's date and its table of run times, the account that submits through the exchange, temporary paths, where
the demo's corrupt file (a release cut in half) stops parsing,
and the plots' pixels.
"""
from __future__ import annotations

import csv
import getpass
import json
import re
import sys
from pathlib import Path

SEED = 20261206
SECONDS = re.compile(r"\d+(?:\.\d+)?(?: ?(?:s|ms)\b| x the model solution)")
TEMPORARY = re.compile(r"/tmp/[^\s'\"<>:,)]+")
WRITTEN = re.compile(r"Written \d{4}-\d\d-\d\d \d\d:\d\d UTC")
TIME_ROW = re.compile(r"^<tr><td>[^<]+</td><td>\d+\.\d+</td></tr>$")  # the report's table of run times
# where the demo's corrupt file (the release cut in half) stops parsing depends on the release's length, not the grader
CUT_AT = re.compile(r"is not valid JSON \(line \d+, column \d+: [^)]*\)")
IMAGE = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
ACCOUNT_STUDENTS = {"ada", "ben", "cleo", "dev", "eve", "fay", "zed"}


def clean(text: str, account: str) -> str:
    text = IMAGE.sub("data:image/png;base64,<plot>", text)
    text = CUT_AT.sub("is not valid JSON (<where the file was cut>)", text)
    text = TEMPORARY.sub("<tmp>", text)
    text = SECONDS.sub("<time>", text)
    if account and account not in ACCOUNT_STUDENTS:
        text = re.sub(rf"\b{re.escape(account)}\b", "<account>", text, flags=re.IGNORECASE)
    return text


def _outputs(nb: dict) -> dict[str, str]:
    """The text a student sees under each graded test cell of an autograded notebook."""
    found = {}
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if cell["cell_type"] != "code" or not grade_id.startswith("test_"):
            continue
        parts = []
        for out in cell.get("outputs", []):
            text = out.get("text") or "\n".join(out.get("traceback", [])) or json.dumps(out.get("data", {}), sort_keys=True)
            parts.append("".join(text) if isinstance(text, list) else text)
        found[grade_id] = "".join(parts)
    return found


def snapshot(demo: Path, account: str | None = None) -> dict:
    account = account if account is not None else getpass.getuser()
    shot: dict = {"graded": {}, "reports": {}, "exports": {}}
    for report in sorted(demo.glob("autograded/*/*/autograder_report.json")):
        student, ps = report.parent.parent.name, report.parent.name
        data = json.loads(report.read_text())
        for key in ("seconds", "function_seconds", "seed"):
            data.pop(key, None)
        notebook = json.loads((report.parent / f"{ps}.ipynb").read_text())
        key = "<account>" if student == account and account not in ACCOUNT_STUDENTS else student
        shot["graded"][f"{ps}/{key}"] = json.loads(clean(json.dumps({"report": data, "cells": _outputs(notebook)},
                                                                    sort_keys=True), account))
    for page in sorted(demo.glob("reports/*.html")):
        lines = [line for line in page.read_text().splitlines() if not TIME_ROW.match(line.strip())]
        shot["reports"][page.stem] = clean(WRITTEN.sub("Written <date>", "\n".join(lines)), account).splitlines()
    for export in sorted(demo.glob("grades-*.csv")):
        with open(export, newline="") as f:
            rows = [row for row in csv.reader(f)]
        shot["exports"][export.stem] = [clean(",".join(row), account) for row in rows]
    return shot


if __name__ == "__main__":
    print(json.dumps(snapshot(Path(sys.argv[1])), indent=1, sort_keys=True))
