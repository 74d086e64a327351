"""`python -m autograder report ps1`: one HTML page on how the class did, for the instructor after grading.

It reads what the last `autograde` wrote for each student (``autograded/<student>/<ps>/autograder_report.json``,
written by the trusted grader, never by a student), the gradebook (for hand-graded points and late penalties) and
the roster, and shows:

- the score distribution (autograded points, and the total with hand-graded points once there are any);
- each graded function's pass rate;
- for each function, its most common failures: the failing case and the kind of failure, grouped, with how many
  students share it and one example message (the words the students got);
- grader faults (nothing recorded for those students) and timeouts;
- the slowest submissions;
- pairs of similar submissions (``autograder.instructor.similarity``; the command ``similarity`` shows them side by side).

Plots are matplotlib figures embedded as PNG, so the page is one self-contained file.
"""
from __future__ import annotations

import base64
import html
import io
import json
import re
import statistics
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

from autograder.config import Course
from autograder.registry import get_problem_set

MAX_REPORT_BYTES = 2 * 2 ** 20          # an autograder_report.json is a few kB; anything larger is not ours
CASE = re.compile(r"^case '(?P<label>[^']{1,200})': (?P<what>.*)", re.S)
TIMEOUT = re.compile(r"timed out|whole time budget|did not return in time", re.I)


def read_reports(course: Course, problem_set: str) -> dict[str, dict]:
    reports = {}
    for path in sorted(course.autograded.glob(f"*/{problem_set}/autograder_report.json")):
        if path.stat().st_size > MAX_REPORT_BYTES:
            continue
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(report, dict):
            reports[path.parent.parent.name] = report
    return reports


def failure_kind(message: str) -> tuple[str, str]:
    """(case label, the kind of failure) of a feedback message, numbers replaced so that alike failures group."""
    first = message.strip()
    match = CASE.match(first)
    label, what = (match["label"], match["what"]) if match else ("(no case)", first)
    what = what.splitlines()[-1] if "raised an error" in what else what.splitlines()[0]
    what = re.sub(r"\(expected .*", "", what)
    what = re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", what)
    return label, what.strip()[:160]


def analyse(reports: dict[str, dict], problem_set: str) -> dict:
    ps = get_problem_set(problem_set)
    graded = {s: r for s, r in reports.items() if "grader_error" not in r}
    faults = {s: str(r["grader_error"]).strip().splitlines()[0][:300] for s, r in reports.items() if "grader_error" in r}
    passed = {fn.name: 0 for fn in ps.functions}
    failures: dict[str, Counter] = {fn.name: Counter() for fn in ps.functions}
    examples: dict[tuple[str, tuple[str, str]], str] = {}
    timeouts = []
    unreadable = {s: str(r["problem"])[:300] for s, r in graded.items() if r.get("problem")}
    for student, report in sorted(graded.items()):
        if student in unreadable:       # fails every function for one reason: listed once, not per function
            continue
        functions = report.get("functions") or {}
        for fn in ps.functions:
            result = functions.get(fn.name) or {}
            if result.get("score") == fn.points:
                passed[fn.name] += 1
                continue
            messages = [m for m in result.get("messages", []) if isinstance(m, str)]
            detail = next((m for m in messages[1:] if not m.startswith("(") and " budget (" not in m), None)
            if detail is None:
                detail = messages[1] if len(messages) > 1 else (messages[0] if messages else "not graded")
            kind = failure_kind(detail)
            failures[fn.name][kind] += 1
            examples.setdefault((fn.name, kind), detail)
            if any(TIMEOUT.search(m) for m in messages):
                timeouts.append((student, fn.name))
    slowest = sorted(((r.get("seconds") or 0.0, s) for s, r in graded.items()), reverse=True)[:10]
    return {"ps": ps, "graded": graded, "faults": faults, "unreadable": unreadable, "passed": passed, "failures": failures,
            "examples": examples, "timeouts": timeouts, "slowest": slowest,
            "seeds": sorted({r.get("seed") for r in reports.values() if r.get("seed") is not None})}


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def plots(found: dict, totals: dict[str, float], possible: float | None) -> tuple[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ps = found["ps"]
    auto = [r.get("score", 0) for r in found["graded"].values()]
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    bins = range(0, ps.total_points + 2)
    ax.hist(auto, bins=bins, align="left", rwidth=0.85, color="tab:blue", label="autograded points")
    hand_graded = any(totals.get(s, r.get("score", 0)) != r.get("score", 0) for s, r in found["graded"].items())
    if totals and possible and hand_graded:
        ax.hist(list(totals.values()), bins=[b / 1 for b in range(0, int(possible) + 2)], align="left", rwidth=0.45,
                color="tab:orange", alpha=0.8, label=f"total with hand-graded points (of {possible:g})")
    ax.axvline(ps.total_points, color="gray", ls=":", lw=1)
    ax.set(xlabel="points", ylabel="students", title=f"{ps.name}: scores of {len(auto)} graded submission(s)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=8)
    distribution = _png(fig)

    names = [fn.name for fn in ps.functions]
    n = max(len(found["graded"]), 1)
    rates = [100 * found["passed"][name] / n for name in names]
    fig, ax = plt.subplots(figsize=(6.4, 0.35 * len(names) + 0.9))
    ax.barh(names[::-1], rates[::-1], color="tab:green")
    for y, rate in enumerate(rates[::-1]):
        ax.text(min(rate + 1, 92), y, f"{rate:.0f} %", va="center", fontsize=8)
    ax.set(xlim=(0, 100), xlabel="% of graded submissions with full points", title="pass rate per graded function")
    return distribution, _png(fig)


def render(course: Course, problem_set: str, reports: dict[str, dict]) -> str:
    from autograder.instructor import lms

    found = analyse(reports, problem_set)
    ps = found["ps"]
    try:
        table = lms.read_table(course, [problem_set])
        submitted = set(table.scores) & set(found["graded"])
        totals = {s: table.scores[s][problem_set] for s in submitted}
        possible = table.points_possible.get(problem_set)
        missing = sorted(s for s in table.on_roster if s not in found["graded"] and s not in found["faults"])
    except Exception:      # a gradebook that does not know the problem set: the autograder's side alone
        totals, possible, missing = {}, None, []
    distribution, rates = plots(found, totals, possible)
    e = html.escape
    auto = [r.get("score", 0) for r in found["graded"].values()]
    summary = (f"{len(found['graded'])} graded submission(s); autograded points: mean {statistics.mean(auto):.1f}, "
               f"median {statistics.median(auto):g} of {ps.total_points}" if auto else "no graded submission yet")
    parts = [f"<h1>{e(ps.title)}: how the class did</h1>",
             f"<p>{e(summary)}. {len(found['faults'])} grader fault(s), {len(found['timeouts'])} timeout(s), "
             f"{len(missing)} student(s) on the roster without a graded submission"
             f"{': ' + e(', '.join(missing)) if missing else ''}. Grading seed(s): "
             f"{e(', '.join(map(str, found['seeds'])) or 'none')}. Written "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.</p>",
             "<h2>Score distribution</h2>", distribution,
             "<h2>Pass rate per graded function</h2>", rates,
             "<table><tr><th>function</th><th>points</th><th>full points</th></tr>"]
    n = len(found["graded"])
    for fn in ps.functions:
        parts.append(f"<tr><td>{e(fn.name)}</td><td>{fn.points}</td><td>{found['passed'][fn.name]} / {n}</td></tr>")
    parts.append("</table><h2>Most common failures</h2>")
    for fn in ps.functions:
        common = found["failures"][fn.name].most_common(5)
        if not common:
            continue
        parts.append(f"<h3>{e(fn.name)}: {sum(found['failures'][fn.name].values())} of {n} failed</h3><table>"
                     "<tr><th>students</th><th>case</th><th>failure</th><th>an example message</th></tr>")
        for (label, kind), count in common:
            example = found["examples"][(fn.name, (label, kind))]
            parts.append(f"<tr><td>{count}</td><td>{e(label)}</td><td>{e(kind)}</td>"
                         f"<td><pre>{e(example[:600])}</pre></td></tr>")
        parts.append("</table>")
    if found["unreadable"]:
        parts.append("<h2>Submissions that could not be read</h2><p>They score 0 on every function (counted above as "
                     "failures, not listed per function).</p><ul>" + "".join(
                         f"<li>{e(s)}: {e(m)}</li>" for s, m in sorted(found["unreadable"].items())) + "</ul>")
    parts.append("<h2>Grader faults and timeouts</h2>")
    if found["faults"]:
        parts.append("<p>Nothing was recorded for these students: fix the cause and grade them again with "
                     "<code>autograde --student</code>.</p><ul>" + "".join(
                         f"<li>{e(s)}: {e(m)}</li>" for s, m in sorted(found["faults"].items())) + "</ul>")
    by_function = defaultdict(list)
    for student, name in found["timeouts"]:
        by_function[name].append(student)
    if by_function:
        parts.append("<ul>" + "".join(f"<li>{e(name)} timed out for {len(s)}: {e(', '.join(s))}</li>"
                                      for name, s in sorted(by_function.items())) + "</ul>")
    if not found["faults"] and not by_function:
        parts.append("<p>None.</p>")
    parts.append("<h2>Similar submissions</h2>")
    try:
        from autograder.instructor import similarity

        notebooks, release_nb = similarity.read_class(course, problem_set)
        parts.append(similarity.summary_html(similarity.compare(notebooks, release_nb, problem_set)))
        parts.append(f"<p>Both cells of each pair side by side: <code>python -m autograder similarity "
                     f"{e(problem_set)}</code>.</p>")
    except Exception as error:   # nothing submitted, no release: the rest of the report stands
        parts.append(f"<p>Not compared: {e(str(error))}</p>")
    parts.append("<h2>Slowest submissions</h2><table><tr><th>student</th><th>seconds in the sandbox</th></tr>")
    parts += [f"<tr><td>{e(s)}</td><td>{sec:.2f}</td></tr>" for sec, s in found["slowest"]]
    parts.append("</table>")
    style = ("body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.4}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;"
             "vertical-align:top;text-align:left}pre{white-space:pre-wrap;margin:0;font-size:.85em}")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(ps.name)}: class report</title>"
            f"<style>{style}</style></head><body>" + "\n".join(parts) + "</body></html>")


def write_report(course: Course, problem_set: str, to: Path | None = None) -> Path:
    from autograder.errors import UserError

    get_problem_set(problem_set)
    reports = read_reports(course, problem_set)
    if not reports:
        raise UserError(f"nothing graded yet for {problem_set}: run `python -m autograder autograde {problem_set}` first")
    path = to or course.root / "reports" / f"{problem_set}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(course, problem_set, reports))
    return path
