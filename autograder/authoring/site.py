"""`make site`: a static HTML site of the course, built with nbconvert.

    build/site/index.html                 the weeks (from course/weeks.toml), links, how to run locally
    build/site/lectures/<lecture>.html    each lecture executed, figures inline, widget state embedded
    build/site/problem-sets/<ps>.html     each problem set's student version (no solutions, not executed)

The lectures are executed here (nbclient, which also stores the widgets' state, so that a slider shows its
current figure on the page); the test suite passes in the notebooks it has just executed instead. `make site` builds
from the student edition (`python -m autograder publish`, into build/edition/), so that the site shows exactly what
students get.

The site works offline: it makes no request outside itself. nbconvert's lab template loads MathJax, require.js and
the widget manager from public CDNs; here they come from npm packages (pinned below), installed once into
build/site-assets/ and copied into build/site/assets/, and the pages point there.

The weeks' table is data, course/weeks.toml, which both the site's index and README.md's table are made from:
``python -m autograder.authoring.site --weeks-table`` rewrites the README's table after the file changes.
"""
from __future__ import annotations

import argparse
import html
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat

from autograder.errors import SiteError  # noqa: F401 (raised here; the CLI catches it from here)

LECTURE_TIMEOUT_S = 180
# npm package -> the files and folders of it that the site serves (MathJax: the TeX input, the CommonHTML output
# and its web fonts, what the lab template's configuration "TeX-AMS_CHTML-full,Safe" loads)
ASSET_PACKAGES = {
    "mathjax@2.7.9": ("MathJax.js", "config/TeX-AMS_CHTML-full.js", "config/Safe.js", "extensions", "jax/input/TeX",
                      "jax/output/CommonHTML", "jax/element", "fonts/HTML-CSS/TeX/woff", "localization/en"),
    "@jupyter-widgets/html-manager@1.0.15": ("dist/embed-amd.js",),
    "requirejs@2.3.7": ("require.js",),
}
# where each page (one folder below the site's root) finds them
ASSET_URLS = {
    "mathjax_url": "../assets/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
    "require_js_url": "../assets/requirejs/require.js",
    "widget_renderer_url": "../assets/html-manager/dist/embed-amd.js",
}


def _package_folder(spec: str) -> str:
    return spec.rsplit("@", 1)[0]


def assets_unavailable(cache: Path) -> str | None:
    """Why the assets cannot be had here (not installed in ``cache`` and no npm), or None."""
    modules = cache / "node_modules"
    if all((modules / _package_folder(spec) / "package.json").exists() for spec in ASSET_PACKAGES) or shutil.which("npm"):
        return None
    return "no npm on this machine to install the site's MathJax, require.js and widget manager (apt-get install npm)"


def install_assets(cache: Path, log=print) -> Path:
    """The npm packages of ASSET_PACKAGES in ``cache``/node_modules (installed once, then reused)."""
    modules = cache / "node_modules"
    wanted = [spec for spec in ASSET_PACKAGES if not (modules / _package_folder(spec) / "package.json").exists()]
    if wanted:
        npm = shutil.which("npm")
        if npm is None:
            raise SiteError("the site serves MathJax, require.js and the widget manager itself (it must work "
                            "offline), and installs them once with npm, which this machine lacks: install Node.js "
                            "and npm (Debian: apt-get install npm), then run `make site` again")
        cache.mkdir(parents=True, exist_ok=True)
        log(f"  installing {', '.join(wanted)} from npm into {cache} (once)")
        run = subprocess.run([npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", "--loglevel=error",
                              "--no-save", *wanted], capture_output=True, text=True, timeout=900)
        if run.returncode != 0:
            raise SiteError(f"npm could not install {', '.join(wanted)}:\n{run.stderr[-2000:]}")
    return modules


def copy_assets(modules: Path, out: Path) -> None:
    """The parts of the packages the pages use, into ``out``/assets/<package>/."""
    for spec, parts in ASSET_PACKAGES.items():
        package = _package_folder(spec)
        target = out / "assets" / package.rsplit("/", 1)[-1]
        for part in parts:
            source = modules / package / part
            if source.is_dir():
                shutil.copytree(source, target / part)
            else:
                (target / part).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, target / part)


def execute(path: Path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=LECTURE_TIMEOUT_S, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def to_html(nb, title: str) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", **ASSET_URLS)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


WEEKS = Path("course") / "weeks.toml"
WEEKS_COMMAND = "python -m autograder.authoring.site --weeks-table"
# README.md's table of the weeks sits between these two lines (HTML comments: GitHub does not show them)
TABLE_START = f"<!-- made from {WEEKS.as_posix()}: edit that file, then run `{WEEKS_COMMAND}` -->"
TABLE_END = "<!-- end of the weeks -->"


def read_weeks(root: Path) -> list[dict]:
    """The weeks of ``root``/course/weeks.toml, in order: {"number", "topic", "lectures": [{"name", "covers"}],
    "problem_set": {"name", "covers"}}, every text on one line."""
    path = root / WEEKS
    try:
        data = tomllib.loads(path.read_text())
        one_line = lambda text: " ".join(text.split())
        return [{"number": week["number"], "topic": week["topic"],
                 "lectures": [{"name": lecture["name"], "covers": one_line(lecture["covers"])}
                              for lecture in week["lecture"]],
                 "problem_set": {"name": week["problem_set"]["name"],
                                 "covers": one_line(week["problem_set"]["covers"])}}
                for week in data["week"]]
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as error:
        raise SiteError(f"{path} cannot be read as the course's weeks ({type(error).__name__}: {error}); its own "
                        "comments say what each week holds") from error


def week_table_markdown(weeks: list[dict], show=lambda folder, name: f"`{name}`") -> str:
    """The weeks as a Markdown table (week, lecture notebooks, problem set). ``show(folder, name)`` writes a lecture's
    name (folder "lectures") or a problem set's ("problem-sets"); by default as code, as in the README."""
    rows = ["| week | lecture notebooks | problem set |", "|---|---|---|"]
    for week in weeks:
        lectures = "; ".join(f"{show('lectures', lecture['name'])}: {lecture['covers']}"
                             for lecture in week["lectures"])
        problem_set = f"{show('problem-sets', week['problem_set']['name'])}: {week['problem_set']['covers']}"
        rows.append(f"| {week['number']} {week['topic']} | {lectures} | {problem_set} |")
    return "\n".join(rows)


def readme_week_table(readme: str) -> str | None:
    """The table between README.md's two marker lines, or None when the markers are missing."""
    start, end = readme.find(TABLE_START), readme.find(TABLE_END)
    if start < 0 or end < start:
        return None
    return readme[start + len(TABLE_START):end].strip()


def write_readme_week_table(root: Path) -> bool:
    """Rewrite README.md's table of the weeks from course/weeks.toml; True when it changed."""
    path = root / "README.md"
    readme = path.read_text()
    if readme_week_table(readme) is None:
        raise SiteError(f"{path} has no table of the weeks to rewrite: put these two lines where it belongs, "
                        f"then run `{WEEKS_COMMAND}` again\n{TABLE_START}\n{TABLE_END}")
    start, end = readme.index(TABLE_START) + len(TABLE_START), readme.index(TABLE_END)
    new = readme[:start] + "\n\n" + week_table_markdown(read_weeks(root)) + "\n\n" + readme[end:]
    if new != readme:
        path.write_text(new)
    return new != readme


def course_table(weeks: list[dict]) -> str:
    """The weeks as an HTML table, lecture and problem-set names linked to their pages."""
    import mistune

    table = week_table_markdown(weeks, lambda folder, name: f"[{name}]({folder}/{name}.html)")
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
{course_table(read_weeks(root))}
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


def build_site(root: Path, out: Path, executed: dict | None = None, log=print, edition: Path | None = None) -> Path:
    """Build the site into ``out`` (replaced): the lectures and problem sets of ``edition`` (a student edition;
    default: ``root`` itself), the index from ``root``'s README. ``executed``: {lecture name: executed notebook}
    to reuse."""
    executed = executed or {}
    source = edition or root
    modules = install_assets(root / "build" / "site-assets", log)
    if out.exists():
        shutil.rmtree(out)
    (out / "lectures").mkdir(parents=True)
    (out / "problem-sets").mkdir()
    copy_assets(modules, out)
    lectures = sorted(p.stem for p in (source / "course").glob("*.ipynb"))
    for name in lectures:
        nb = executed.get(name) or execute(source / "course" / f"{name}.ipynb")
        (out / "lectures" / f"{name}.html").write_text(to_html(nb, name))
        log(f"  lectures/{name}.html")
    problem_sets = sorted(p.parent.name for p in (source / "assignments").glob("*/*.ipynb"))
    for name in problem_sets:
        nb = nbformat.read(source / "assignments" / name / f"{name}.ipynb", as_version=4)
        (out / "problem-sets" / f"{name}.html").write_text(to_html(nb, name))
        log(f"  problem-sets/{name}.html")
    (out / "index.html").write_text(index_page(root, lectures, problem_sets))
    log(f"site: {out / 'index.html'}")
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.authoring.site",
                                     description="The site's data. `make site` builds the site itself.")
    parser.add_argument("--weeks-table", action="store_true",
                        help=f"rewrite README.md's table of the weeks from {WEEKS.as_posix()}")
    parser.add_argument("--root", default=".", help="the course folder (default: here)")
    args = parser.parse_args(argv)
    if not args.weeks_table:
        parser.print_help()
        return 2
    try:
        changed = write_readme_week_table(Path(args.root))
    except SiteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"README.md: the table of the weeks {'rewritten from' if changed else 'already equals'} {WEEKS.as_posix()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
