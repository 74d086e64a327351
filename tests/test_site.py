"""`make site`: every lecture page holds its figures, every problem set page its statement without solutions, and
the index links them all. Built from the lectures that tests/test_notebooks_execute.py has just executed (when this
file runs alone, the site builder executes them itself). The index's table of the weeks comes from course/weeks.toml,
and the command that rewrites README.md's table from that file changes that table and nothing else."""
from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pytest
from conftest import EXECUTED_LECTURES

from autograder.authoring.site import (WEEKS, assets_unavailable, build_site, index_page, main, read_weeks,
                                       readme_week_table, to_html)

REPO = Path(__file__).resolve().parent.parent
NO_ASSETS = assets_unavailable(REPO / "build" / "site-assets")
IMAGE = re.compile(r'<img[^>]+src="data:image/png;base64,')


def text_of(page: str) -> str:
    """What the page shows: tags (the syntax highlighting's spans too) removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def solution_lines(master) -> list[str]:
    """Distinctive lines of the master's solutions (not signatures, docstrings or short lines)."""
    lines = []
    for cell in master.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            inside = False
            for line in cell.source.splitlines():
                inside = {"### BEGIN SOLUTION": True, "### END SOLUTION": False}.get(line.strip(), inside)
                if inside and len(line.strip()) > 30 and "BEGIN SOLUTION" not in line:
                    lines.append(line.strip())
    return lines


@pytest.mark.skipif(NO_ASSETS is not None, reason=str(NO_ASSETS))
def test_every_lecture_page_has_its_figures_and_the_index_links_everything(tmp_path):
    index = build_site(REPO, tmp_path / "site", dict(EXECUTED_LECTURES), log=lambda line: None)
    site, front = index.parent, index.read_text()
    for path in sorted((REPO / "course").glob("*.ipynb")):
        page = (site / "lectures" / f"{path.stem}.html").read_text()
        nb = EXECUTED_LECTURES.get(path.stem)
        figures = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs) if nb is not None else 1
        assert figures >= 1 and len(IMAGE.findall(page)) >= figures, (path.name, figures, len(IMAGE.findall(page)))
        assert f'href="lectures/{path.stem}.html"' in front, path.stem
    for path in sorted((REPO / "assignments").glob("*/*.ipynb")):
        page = (site / "problem-sets" / path.name.replace(".ipynb", ".html")).read_text()
        master = nbformat.read(REPO / "solutions" / path.parent.name / path.name, as_version=4)
        shown = text_of(page)
        assert "BEGIN SOLUTION" not in shown and "NotImplementedError" in shown, path.name
        given = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)  # the statement itself
        leaked = [line for line in solution_lines(master) if line in shown and line not in given]
        assert not leaked, (path.name, leaked[:3])
        assert f'href="problem-sets/{path.stem}.html"' in front, path.stem
    assert "<table>" in front and "Run it yourself" in front


def test_the_solution_check_would_see_a_leak():
    """The check above is not vacuous: on the master's own page it finds the solution lines."""
    master = nbformat.read(REPO / "solutions" / "ps1" / "ps1.ipynb", as_version=4)
    lines = solution_lines(master)
    shown = text_of(to_html(master, "ps1"))
    assert len(lines) >= 5 and sum(line in shown for line in lines) >= 0.9 * len(lines)


def test_the_index_shows_the_weeks_from_the_data():
    lectures = sorted(path.stem for path in (REPO / "course").glob("*.ipynb"))
    problem_sets = sorted(path.parent.name for path in (REPO / "assignments").glob("*/*.ipynb"))
    page = index_page(REPO, lectures, problem_sets)
    table = page[page.index("<table>"):page.index("</table>")]
    weeks = read_weeks(REPO)
    for week in weeks:
        assert f"<td>{week['number']} {html.escape(week['topic'])}</td>" in table, week["topic"]
        assert f'<a href="problem-sets/{week["problem_set"]["name"]}.html">' in table
        for lecture in week["lectures"]:
            assert f'<a href="lectures/{lecture["name"]}.html">{lecture["name"]}</a>' in table, lecture["name"]
    assert table.count("<tr>") == len(weeks) + 1
    assert "<h1>From the perceptron to the LSTM</h1>" in page and "An open deep-learning course" in page


def test_the_weeks_table_command_rewrites_the_readme_table_and_nothing_else(tmp_path, capsys):
    (tmp_path / "course").mkdir()
    readme = (REPO / "README.md").read_text()
    (tmp_path / "README.md").write_text(readme)
    (tmp_path / WEEKS).write_text((REPO / WEEKS).read_text().replace('topic = "ConvNets"', 'topic = "Convolutions"'))
    assert main(["--weeks-table", "--root", str(tmp_path)]) == 0
    assert "rewritten" in capsys.readouterr().out
    rewritten = (tmp_path / "README.md").read_text()
    old, new = readme_week_table(readme), readme_week_table(rewritten)
    assert "| 4 Convolutions |" in new and new == old.replace("| 4 ConvNets |", "| 4 Convolutions |")
    assert rewritten == readme.replace(old, new)
    assert main(["--weeks-table", "--root", str(tmp_path)]) == 0 and "already" in capsys.readouterr().out
    (tmp_path / "README.md").write_text("# A README without the table\n")
    assert main(["--weeks-table", "--root", str(tmp_path)]) == 1 and "no table" in capsys.readouterr().err
