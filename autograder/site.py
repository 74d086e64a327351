"""`make site`: a static HTML site of the course, built with nbconvert.

    build/site/index.html                 the weeks (the README's course table), links, how to run locally
    build/site/lectures/<lecture>.html    each lecture executed, figures inline, widget state embedded
    build/site/problem-sets/<ps>.html     each problem set's student version (no solutions, not executed)

The lectures are executed here (nbclient, which also stores the widgets' state, so that a slider shows its
current figure on the page); the test suite passes in the notebooks it has just executed instead.
"""
from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import nbformat

LECTURE_TIMEOUT_S = 180


def execute(path: Path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=LECTURE_TIMEOUT_S, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def to_html(nb, title: str) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def course_table(readme: str) -> str:
    """The README's course table (week, lectures, problem set) as HTML, lecture and problem-set names linked."""
    import mistune

    start = readme.index("| week |")
    end = readme.index("\n\n", start)
    table = readme[start:end]
    table = re.sub(r"`(\d\d[a-z]?_[a-z0-9_]+)`", r"[\1](lectures/\1.html)", table)
    table = re.sub(r"`(ps\d)`", r"[\1](problem-sets/\1.html)", table)
    return mistune.create_markdown(plugins=["table"])(table)


def index_page(root: Path, lectures: list[str], problem_sets: list[str]) -> str:
    readme = (root / "README.md").read_text()
    title = readme.splitlines()[0].lstrip("# ").strip()
    intro = readme.split("\n\n")[1].replace("\n", " ")
    items = lambda folder, names: "".join(f'<li><a href="{folder}/{n}.html">{html.escape(n)}</a></li>' for n in names)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.4em;vertical-align:top;font-size:.9em}}
code,pre{{background:#f4f4f4}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(intro)}</p>
<h2>The weeks</h2>
{course_table(readme)}
<h2>Lectures</h2><ul>{items("lectures", lectures)}</ul>
<p>Each lecture page shows the notebook as it ran when this site was built, figures included; a slider shows the
figure for its current value (moving it needs a running kernel).</p>
<h2>Problem sets</h2><ul>{items("problem-sets", problem_sets)}</ul>
<p>The statements as students receive them: the graded functions to write, without solutions.</p>
<h2>Run it yourself</h2>
<pre>git clone &lt;this repository&gt; &amp;&amp; cd &lt;it&gt;
make lab        # creates .venv on first use, then opens JupyterLab on work/ (your copies)</pre>
<p>Everything runs on a laptop CPU: Python 3.11 and pip are all it needs.</p>
</body></html>
"""


def build_site(root: Path, out: Path, executed: dict | None = None, log=print) -> Path:
    """Build the site into ``out`` (replaced). ``executed``: {lecture name: executed notebook} to reuse."""
    executed = executed or {}
    if out.exists():
        shutil.rmtree(out)
    (out / "lectures").mkdir(parents=True)
    (out / "problem-sets").mkdir()
    lectures = sorted(p.stem for p in (root / "course").glob("*.ipynb"))
    for name in lectures:
        nb = executed.get(name) or execute(root / "course" / f"{name}.ipynb")
        (out / "lectures" / f"{name}.html").write_text(to_html(nb, name))
        log(f"  lectures/{name}.html")
    problem_sets = sorted(p.parent.name for p in (root / "assignments").glob("*/*.ipynb"))
    for name in problem_sets:
        nb = nbformat.read(root / "assignments" / name / f"{name}.ipynb", as_version=4)
        (out / "problem-sets" / f"{name}.html").write_text(to_html(nb, name))
        log(f"  problem-sets/{name}.html")
    (out / "index.html").write_text(index_page(root, lectures, problem_sets))
    log(f"site: {out / 'index.html'}")
    return out / "index.html"
