"""`python -m autograder similarity ps3`: which students' solutions are alike, graded function by graded function.

The method is MOSS's (Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for document fingerprinting",
SIGMOD 2003), on Python tokens:

1. **Normalize.** Each solution cell is cut into Python tokens. Comments, blank lines and whitespace go; every
   identifier (variable, parameter, function name) becomes ``V``, every string ``S``; keywords, operators, numbers
   and the attribute after a dot (``np.maximum``'s ``maximum``) stay. Renaming variables, re-indenting and rewriting
   comments change nothing.
2. **Fingerprint.** Every run of ``K`` consecutive tokens is hashed; in each window of ``W`` consecutive hashes the
   smallest is kept. Any shared run of at least ``K + W - 1`` tokens is guaranteed a shared fingerprint, and the
   fingerprints are a set: moving helper functions around keeps all but the few that straddle a boundary.
3. **Leave out what everyone was given.** Every k-gram of the release (its provided cells and the stubs of its
   solution cells) is removed, and so is any fingerprint that more than ``common`` of the class share in a function
   (the obvious way to write a line is not evidence of copying).
4. **Compare.** For each pair of students, the fingerprints they share in each function are counted through an
   inverted index (only pairs that share something are ever looked at). A pair's similarity is the weighted Jaccard
   index over all functions: shared fingerprints / fingerprints of either. Pairs at or above ``threshold`` with
   enough shared fingerprints are listed, each function's two cells side by side with the lines that match marked.

Nothing here runs student code. Notebooks are read through the bounded reader that grading uses; a cell is cut to
``notebooks.MAX_CELL_CHARS``; an unreadable notebook is listed, not fatal.
"""
from __future__ import annotations

import html
import io
import keyword
import time
import tokenize
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from autograder.grading.notebooks import (MAX_CELL_CHARS, SOLUTION_MARKERS, SubmissionError, cell_source, nbgrader_meta,
                                  read_submission)

K = 8           # tokens per k-gram
W = 6           # k-grams per winnowing window: a shared run of K + W - 1 = 13 tokens is always found
THRESHOLD = 0.5
MIN_SHARED = 25  # shared fingerprints a pair needs, over all functions, before it is listed
COMMON = 0.1     # a fingerprint more than this share of the class has (in one function) is common code
MIN_COMMON = 5   # ... but only once at least this many students have it

_DROP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER, tokenize.TYPE_COMMENT}


@dataclass
class Tokens:
    kinds: list[str] = field(default_factory=list)   # normalized tokens
    lines: list[int] = field(default_factory=list)   # the 1-based source line of each


def normalize(source: str) -> Tokens:
    """The cell's tokens with names and strings normalized; lines that Python cannot tokenize (IPython magics, a
    syntax error) are cut into words instead, so that nothing a student wrote is skipped."""
    out = Tokens()
    source = SOLUTION_MARKERS.sub("", source[:MAX_CELL_CHARS])
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _DROP:
                continue
            if tok.type == tokenize.NAME:
                text = tok.string if keyword.iskeyword(tok.string) or previous == "." else "V"
            elif tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_START", -1):
                text = "S"
            elif tok.type in (getattr(tokenize, "FSTRING_MIDDLE", -1), getattr(tokenize, "FSTRING_END", -1)):
                continue
            elif tok.type == tokenize.NEWLINE:
                text = ";"
            elif tok.type == tokenize.INDENT:
                text = "{"
            elif tok.type == tokenize.DEDENT:
                text = "}"
            else:
                text = tok.string
            out.kinds.append(text)
            out.lines.append(tok.start[0])
            previous = tok.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        out = Tokens()
        for number, line in enumerate(source.splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            for word in line.split():
                out.kinds.append("V" if word.isidentifier() and not keyword.iskeyword(word) else word)
                out.lines.append(number)
    return out


def kgrams(tokens: Tokens, k: int = K) -> list[tuple[int, int, int]]:
    """(hash, first line, last line) of every run of k tokens (one run for a shorter cell)."""
    kinds, lines = tokens.kinds, tokens.lines
    if not kinds:
        return []
    span = min(k, len(kinds))
    return [(zlib.crc32("\x1f".join(kinds[i:i + span]).encode()), lines[i], lines[i + span - 1])
            for i in range(len(kinds) - span + 1)]


def winnow(grams: list[tuple[int, int, int]], w: int = W) -> dict[int, list[tuple[int, int]]]:
    """{fingerprint: [(first line, last line), ...]}: the rightmost smallest hash of every window of w k-grams."""
    chosen: dict[int, list[tuple[int, int]]] = defaultdict(list)
    if not grams:
        return {}
    if len(grams) <= w:
        windows = [range(len(grams))]
    else:
        windows = (range(i, i + w) for i in range(len(grams) - w + 1))
    last = -1
    for window in windows:
        best = min(window, key=lambda i: (grams[i][0], -i))
        if best != last:
            chosen[grams[best][0]].append(grams[best][1:])
            last = best
    return dict(chosen)


@dataclass
class Entry:
    source: str
    prints: dict[int, list[tuple[int, int]]]   # fingerprint -> line spans, after the exclusions


@dataclass
class Pair:
    a: str
    b: str
    similarity: float
    shared: int
    functions: dict[str, tuple[int, int]]        # function -> (shared, union)


@dataclass
class Found:
    problem_set: str
    students: list[str]
    functions: list[str]
    entries: dict[str, dict[str, Entry]]          # student -> function -> entry
    pairs: list[Pair]                              # above the threshold, most similar first
    unreadable: dict[str, str]
    common_dropped: int
    seconds: float
    threshold: float
    path: Path | None = None                       # where write_similarity wrote the page


def solution_cells(nb) -> dict[str, str]:
    """{grade_id: source} of a notebook's code solution cells (the first of each grade_id)."""
    found: dict[str, str] = {}
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        if isinstance(grade_id, str) and meta.get("solution") and isinstance(cell, dict) \
                and cell.get("cell_type") == "code":
            found.setdefault(grade_id, cell_source(cell))
    return found


def given_hashes(release_nb) -> set[int]:
    """Every k-gram hash of the code a student is given: the release's code cells, stubs included."""
    given: set[int] = set()
    for cell in release_nb.get("cells", []):
        if cell.get("cell_type") == "code":
            given.update(h for h, _, _ in kgrams(normalize(cell_source(cell))))
    return given


def compare(notebooks: dict[str, object], release_nb, problem_set: str = "", threshold: float = THRESHOLD,
            min_shared: int = MIN_SHARED, common: float = COMMON) -> Found:
    """Compare every pair of ``notebooks`` ({student: notebook, or a str saying why it could not be read})."""
    started = time.perf_counter()
    functions = list(solution_cells(release_nb))
    given = given_hashes(release_nb)
    unreadable = {s: nb for s, nb in notebooks.items() if isinstance(nb, str)}
    students = sorted(s for s in notebooks if s not in unreadable)
    entries: dict[str, dict[str, Entry]] = {s: {} for s in students}
    holders: dict[str, dict[int, list[str]]] = {fn: defaultdict(list) for fn in functions}
    for student in students:
        cells = solution_cells(notebooks[student])
        for fn in functions:
            source = cells.get(fn, "")
            prints = {h: spans for h, spans in winnow(kgrams(normalize(source))).items() if h not in given}
            entries[student][fn] = Entry(source, prints)
            for h in prints:
                holders[fn][h].append(student)
    limit = max(MIN_COMMON, common * len(students))
    dropped = 0
    shared: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for fn in functions:
        for h, who in holders[fn].items():
            if len(who) > limit:
                dropped += 1
                for student in who:
                    entries[student][fn].prints.pop(h, None)
                continue
            for a, b in combinations(who, 2):
                shared[(a, b)][fn] += 1
    pairs = []
    for (a, b), by_fn in shared.items():
        per_fn = {}
        for fn in functions:
            both = by_fn.get(fn, 0)
            either = len(entries[a][fn].prints) + len(entries[b][fn].prints) - both
            if either:
                per_fn[fn] = (both, either)
        total_shared = sum(s for s, _ in per_fn.values())
        total = sum(u for _, u in per_fn.values())
        similarity = total_shared / total if total else 0.0
        if similarity >= threshold and total_shared >= min_shared:
            pairs.append(Pair(a, b, similarity, total_shared, per_fn))
    pairs.sort(key=lambda p: (-p.similarity, p.a, p.b))
    return Found(problem_set, students, functions, entries, pairs, unreadable, dropped,
                 time.perf_counter() - started, threshold)


def read_class(course, problem_set: str) -> tuple[dict[str, object], object]:
    """({student: notebook or why it is unreadable}, the release notebook) of a course's submissions."""
    from autograder.errors import UserError

    release = course.released(problem_set)
    if not release.exists():
        raise UserError(f"{problem_set} is not released: run `python -m autograder release {problem_set}` first "
                        f"(the release's own code is left out of the comparison)")
    release_nb = read_submission(release)
    notebooks: dict[str, object] = {}
    for folder in sorted(course.submitted.glob(f"*/{problem_set}")):
        path = folder / f"{problem_set}.ipynb"
        if not path.is_file():
            notebooks[folder.parent.name] = f"no {path.name} in the submission"
            continue
        try:
            notebooks[folder.parent.name] = read_submission(path)
        except SubmissionError as error:
            notebooks[folder.parent.name] = str(error)
    if not notebooks:
        raise UserError(f"nothing submitted for {problem_set}: no folders "
                        f"{course.submitted.name}/<student>/{problem_set}/")
    return notebooks, release_nb


def _marked(entry: Entry, other: Entry) -> str:
    """The cell's source as HTML, lines covered by a fingerprint the other cell shares marked."""
    lines: set[int] = set()
    for h, spans in entry.prints.items():
        if h in other.prints:
            for first, last in spans:
                lines.update(range(first, last + 1))
    source = SOLUTION_MARKERS.sub("", entry.source[:MAX_CELL_CHARS])
    return "\n".join(f"<mark>{html.escape(line)}</mark>" if n in lines else html.escape(line)
                     for n, line in enumerate(source.splitlines(), 1))


def summary_html(found: Found) -> str:
    """The table of listed pairs (for the class report)."""
    e = html.escape
    if not found.pairs:
        return (f"<p>No pair of the {len(found.students)} readable submissions reaches a similarity of "
                f"{found.threshold:.0%}.</p>")
    rows = "".join(
        f"<tr><td>{e(p.a)}</td><td>{e(p.b)}</td><td>{p.similarity:.0%}</td><td>{p.shared}</td><td>"
        + e(", ".join(f"{fn} {s / u:.0%}" for fn, (s, u) in p.functions.items() if s)) + "</td></tr>"
        for p in found.pairs)
    return ("<table><tr><th>student</th><th>student</th><th>similarity</th><th>shared fingerprints</th>"
            f"<th>functions (similarity)</th></tr>{rows}</table>")


def render(found: Found) -> str:
    e = html.escape
    parts = [f"<h1>{e(found.problem_set)}: similar submissions</h1>",
             f"<p>{len(found.students)} readable submission(s), {len(found.functions)} solution cell(s) each; "
             f"{len(found.pairs)} pair(s) at or above {found.threshold:.0%} similarity (shared fingerprints over "
             f"the fingerprints of either, all functions together; the release's own code and "
             f"{found.common_dropped} fingerprint(s) common to more than {COMMON:.0%} of the class left out). "
             f"Compared in {found.seconds:.1f} s. A high similarity is a reason to look, not a verdict: read the "
             f"cells.</p>", summary_html(found)]
    if found.unreadable:
        parts.append("<h2>Not compared</h2><ul>" + "".join(
            f"<li>{e(s)}: {e(why)}</li>" for s, why in sorted(found.unreadable.items())) + "</ul>")
    for p in found.pairs:
        parts.append(f"<h2>{e(p.a)} and {e(p.b)}: {p.similarity:.0%}</h2>")
        for fn, (s, u) in p.functions.items():
            if not s:
                continue
            a, b = found.entries[p.a][fn], found.entries[p.b][fn]
            parts.append(f"<h3>{e(fn)}: {s} of {u} fingerprints shared</h3><table class=side><tr>"
                         f"<th>{e(p.a)}</th><th>{e(p.b)}</th></tr><tr><td><pre>{_marked(a, b)}</pre></td>"
                         f"<td><pre>{_marked(b, a)}</pre></td></tr></table>")
    style = ("body{font-family:system-ui,sans-serif;max-width:80em;margin:2em auto;padding:0 1em;line-height:1.4}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;"
             "vertical-align:top;text-align:left}table.side td{width:50%}pre{white-space:pre-wrap;margin:0;"
             "font-size:.85em}mark{background:#ffe08a}")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(found.problem_set)}: "
            f"similar submissions</title><style>{style}</style></head><body>" + "\n".join(parts) + "</body></html>")


def write_similarity(course, problem_set: str, to: Path | None = None, threshold: float = THRESHOLD) -> Found:
    from autograder.registry import get_problem_set

    get_problem_set(problem_set)
    notebooks, release_nb = read_class(course, problem_set)
    found = compare(notebooks, release_nb, problem_set, threshold)
    path = to or course.root / "reports" / f"{problem_set}-similarity.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(found))
    found.path = path
    return found
