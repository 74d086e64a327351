"""The documentation: README.md and docs/*.md.

- README.md's table of the weeks is the one made from course/weeks.toml (the data the site reads too), and that file
  names every lecture and problem set there is, and nothing that is not there;
- every link to a local file resolves, and every link to an anchor matches a heading of its file (GitHub's slugs);
- every path of the repository's code that the documents name in code exists;
- the README starts with its two commands.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from autograder.authoring.site import (TABLE_END, TABLE_START, WEEKS_COMMAND, read_weeks, readme_week_table,
                                       week_table_markdown)

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)
# a path of the repository's own code, as the documents name it (placeholders such as <ps> are not checked)
CODE_PATH = re.compile(r"(?<![\w./-])((?:autograder|tests|benchmarks|hub)/[\w./-]*)(?![\w<./-])")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: links and code reduced to their text, lower case, every character but letters,
    digits, '_', '-' and spaces dropped, spaces turned into '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """The anchors of a Markdown file's headings (outside code blocks); repeats get -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", markdown)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(markdown: str) -> list[str]:
    """The targets of a Markdown file's links and images, outside code blocks and code spans."""
    return LINK.findall(CODE.sub("", FENCE.sub("", markdown)))


def broken_links(document: Path, repo: Path = REPO) -> list[str]:
    """Each local link of ``document`` that does not resolve: a file that does not exist, or an anchor that is no
    heading of its file."""
    broken = []
    for target in links(document.read_text()):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...: not this repository's
            continue
        path, _, anchor = target.partition("#")
        file = (document.parent / path).resolve() if path else document
        where = f"{document.relative_to(repo)}: ({target})"
        if not file.exists():
            broken.append(f"{where}: {path} does not exist")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text()):
            broken.append(f"{where}: {file.relative_to(repo)} has no heading whose anchor is #{anchor}")
    return list(dict.fromkeys(broken))


def test_the_readme_table_of_the_weeks_is_the_one_made_from_the_data():
    readme = (REPO / "README.md").read_text()
    table = readme_week_table(readme)
    assert table is not None, f"README.md lost the lines around its table of the weeks:\n{TABLE_START}\n{TABLE_END}"
    assert table == week_table_markdown(read_weeks(REPO)), (
        f"README.md's table of the weeks differs from course/weeks.toml, where the weeks are kept: edit that file "
        f"(not the README's table), then run `{WEEKS_COMMAND}` from the repository root to rewrite the table")


def test_the_weeks_name_every_lecture_and_problem_set_and_only_those():
    weeks = read_weeks(REPO)
    assert [week["number"] for week in weeks] == list(range(1, len(weeks) + 1)), "weeks numbered 1, 2, ... in order"
    lectures = [lecture["name"] for week in weeks for lecture in week["lectures"]]
    problem_sets = [week["problem_set"]["name"] for week in weeks]
    assert len(set(lectures)) == len(lectures) and len(set(problem_sets)) == len(problem_sets), "each named once"
    missing = [f"course/{name}.ipynb" for name in lectures if not (REPO / "course" / f"{name}.ipynb").exists()]
    missing += [f"solutions/{name}/{name}.ipynb" for name in problem_sets
                if not (REPO / "solutions" / name / f"{name}.ipynb").exists()]
    assert not missing, f"course/weeks.toml names what does not exist: {missing}"
    unnamed = sorted({path.stem for path in (REPO / "course").glob("*.ipynb")} - set(lectures))
    unnamed += sorted({path.parent.name for path in (REPO / "solutions").glob("*/*.ipynb")
                       if path.stem == path.parent.name} - set(problem_sets))
    assert not unnamed, f"not in course/weeks.toml (add each to its week, then run `{WEEKS_COMMAND}`): {unnamed}"


def test_the_readme_starts_with_its_two_commands():
    readme = (REPO / "README.md").read_text()
    first = FENCE.search(readme).group(0).splitlines()
    assert first[0] == "```bash" and [line.split("#")[0].strip() for line in first[1:-1]] == ["make demo", "make test"]
    assert readme.index("## Quick start") < readme.index("```bash") < readme.index("\n## ", readme.index("## Quick"))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO)))
def test_every_local_link_resolves(document):
    assert not broken_links(document), "\n".join(broken_links(document))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO)))
def test_every_path_of_the_code_named_exists(document):
    text = document.read_text()
    named = {path.rstrip(".") for span in FENCE.findall(text) + CODE.findall(text) for path in CODE_PATH.findall(span)}
    missing = sorted(path for path in named if not (REPO / path).exists())
    assert not missing, f"{document.relative_to(REPO)} names paths that do not exist: {missing}"


def test_the_link_check_sees_what_is_broken(tmp_path):
    """A control: a missing file, a missing anchor and a heading's slug done wrong are each caught; links inside
    code are not links; good links pass."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## Two repositories: the instructor's and the `edition`\n\n"
                                                "```\n## not a heading\n```\n")
    page = tmp_path / "README.md"
    page.write_text("# Page\n\n## Same\n\n## Same\n\n"
                    "[fine](docs/other.md) [fine](docs/other.md#two-repositories-the-instructors-and-the-edition) "
                    "[fine](#same-1) [web](https://example.org/x#y) `[code](nowhere.md)`\n\n"
                    "[gone](docs/gone.md) [no anchor](docs/other.md#not-a-heading) "
                    "[wrong slug](docs/other.md#two-repositories-the-instructor's-and-the-edition) [self](#missing)\n")
    broken = broken_links(page, tmp_path)
    assert len(broken) == 4, broken
    assert [b.split("(")[1].split(")")[0] for b in broken] == [
        "docs/gone.md", "docs/other.md#not-a-heading",
        "docs/other.md#two-repositories-the-instructor's-and-the-edition", "#missing"]
