"""How long `similarity` takes for a large class, in one run.

    .venv/bin/python benchmarks/similarity_bench.py [--students 300] [--ps ps3]

Builds a class of synthetic submissions to a problem set: for every solution cell, each student's code is drawn
from the cell's pool (the master's solution, the correct alternatives and the planted bugs of the problem set's
samples), its variable names rewritten at random, comments removed, blank lines and statements of the student's own
(``t17 = 3 * x2``) inserted here and there. That is harder than a
real class (a pool of a few dozen variants per cell makes many students alike, so the inverted index holds long
lists), and it is timed through the same `similarity.compare` the command runs: tokenizing, fingerprinting, the
exclusion of the release and of common code, and the pairwise comparison. Prints the seconds, the pairs looked at
and the pairs listed. Five students' notebooks are copied (names and blank lines changed again) into five more students: the
run says how many of those pairs are listed.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from autograder.authoring import samples
from autograder.instructor import similarity# noqa: E402
from autograder.grading.notebooks import fill, solution_sources  # noqa: E402

WORD = re.compile(r"(?<!\.)\b(?!(?:def|return|for|in|if|else|elif|while|and|or|not|None|True|False|import|from|as|np|"
                  r"range|len|zip|self|lambda|with|is|class|try|except|raise|pass|break|continue|yield|global|"
                  r"nonlocal|del|assert)\b)[a-z_][a-z0-9_]*\b")


def pools(problem_set: str) -> dict[str, list[str]]:
    master = solution_sources(nbformat.read(REPO / "solutions" / problem_set / f"{problem_set}.ipynb", as_version=4))
    found = {cell: [source] for cell, source in master.items()}
    for fn, entries in samples.alternatives(problem_set).items():
        for _, source in entries:
            for cell, text in (source.items() if isinstance(source, dict) else [(fn, source)]):
                if cell in found:
                    found[cell].append(text)
    for fn, entries in samples.mutants(problem_set).items():
        for _, old, new in entries:
            if fn in found and old in master[fn]:
                found[fn].append(master[fn].replace(old, new))
    return found


def disguise(source: str, rng: random.Random, insert: float = 0.25) -> str:
    names = {}

    def rename(match):
        word = match.group(0)
        if rng.random() < 0.5:
            return word
        return names.setdefault(word, f"{word[:2]}_{rng.randrange(1000)}")

    lines = [WORD.sub(rename, line.split("#")[0]).rstrip() for line in source.splitlines()]
    out = []
    for line in lines:
        body = line.lstrip()
        if body and not body.startswith(("else", "elif", "except", "finally", ")", "]", "}", '"', "'", "@")) \
                and not (out and out[-1].rstrip().endswith((",", "(", "[", "\\"))) and rng.random() < insert:
            indent = line[:len(line) - len(body)]   # a statement of the student's own before this line
            out.append(f"{indent}t{rng.randrange(99)} = {rng.randrange(9)} * x{rng.randrange(9)}")
        out.append(line)
        if rng.random() < 0.1:
            out.append("")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--ps", default="ps3")
    args = parser.parse_args()
    release = nbformat.read(REPO / "assignments" / args.ps / f"{args.ps}.ipynb", as_version=4)
    pool = pools(args.ps)
    rng = random.Random(0)
    start = time.perf_counter()
    klass = {f"s{i:03d}": fill(release, {cell: disguise(rng.choice(options), rng) for cell, options in pool.items()})
             for i in range(args.students)}
    copies = {f"s{i:03d}": f"z{i:03d}" for i in range(0, args.students, max(1, args.students // 5))}
    for original, copy in copies.items():   # five copied notebooks, names and blank lines changed: to be listed
        cells = similarity.solution_cells(klass[original])
        klass[copy] = fill(release, {cell: disguise(source, rng, insert=0.0) for cell, source in cells.items()})
    built = time.perf_counter() - start
    start = time.perf_counter()
    found = similarity.compare(klass, release, args.ps)
    seconds = time.perf_counter() - start
    lines = sum(len(s.splitlines()) for nb in klass.values() for s in similarity.solution_cells(nb).values())
    print(f"{args.ps}: {args.students} students, {len(pool)} solution cells each, {lines} lines of code in all "
          f"(pool of {sum(map(len, pool.values()))} variants; class built in {built:.1f} s)")
    n = len(klass)
    listed = {(p.a, p.b) for p in found.pairs}
    print(f"similarity.compare: {seconds:.1f} s for {n * (n - 1) // 2} pairs of {n} notebooks; "
          f"{len(found.pairs)} pair(s) listed, {found.common_dropped} common fingerprint(s) left out; "
          f"the {len(copies)} planted copies: {sum(pair in listed for pair in copies.items())} listed")


if __name__ == "__main__":
    main()
