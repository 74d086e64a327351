"""``python -m autograder <command>``: the instructor's entry point."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from autograder import instructor
from autograder.config import Course
from autograder.errors import GradingRefused, SettingsError, UserError
from autograder.registry import PROBLEM_SET_NAMES


def _course(args) -> Course:
    return Course.load(Path(args.course) if args.course else None)


def cmd_release(args):
    course = _course(args)
    for ps in args.problem_sets or PROBLEM_SET_NAMES:
        path = instructor.release(course, ps)
        print(f"released {ps}: {path.relative_to(course.root)}")


def cmd_collect(args):
    course = _course(args)
    report = instructor.collect(course, args.problem_set, Path(args.source) if args.source else None)
    print(f"collected {len(report['collected'])}, unchanged {len(report['unchanged'])}, "
          f"problems {len(report['errors'])}, missing {len(report['missing'])}")
    for line in report["errors"]:
        print(f"  problem: {line}")
    for student in report["missing"]:
        print(f"  missing: {student} (on the roster, no submission)")


def cmd_autograde(args):
    import dataclasses

    course = _course(args)
    overrides = {name: getattr(args, name) for name in ("sandbox", "setup_s", "function_s", "memory_mb", "cpu_s")
                 if getattr(args, name) is not None}
    course.limits = dataclasses.replace(course.limits, **overrides)
    run = instructor.autograde(course, args.problem_set, args.student or None, args.jobs, seed=args.seed,
                             scheduler=args.scheduler)
    print(instructor.format_table(course, args.problem_set))
    return 3 if run.grader_errors else 0


def cmd_feedback(args):
    course = _course(args)
    folder = instructor.feedback(course, args.problem_set)
    print(f"feedback written to {folder.relative_to(course.root)}/<student>/{args.problem_set}/")


def cmd_export(args):
    from autograder.instructor import lms

    course = _course(args)
    to = Path(args.to or f"grades-{args.format}.csv").resolve()
    lms.export(course, args.format, to, args.problem_sets or None)


def cmd_report(args):
    from autograder.instructor.report import write_report

    course = _course(args)
    for name in args.problem_sets:
        path = write_report(course, name, Path(args.to).resolve() if args.to else None)
        print(f"class report for {name}: {path}")


def cmd_similarity(args):
    from autograder.instructor.similarity import write_similarity

    course = _course(args)
    for name in args.problem_sets:
        found = write_similarity(course, name, Path(args.to).resolve() if args.to else None, args.threshold)
        print(f"{name}: {len(found.students)} submission(s) compared in {found.seconds:.1f} s; "
              f"{len(found.pairs)} pair(s) at or above {found.threshold:.0%} similarity")
        for pair in found.pairs:
            functions = ", ".join(fn for fn, (shared, _) in pair.functions.items() if shared)
            print(f"  {pair.a} and {pair.b}: {pair.similarity:.0%} ({functions})")
        for student, why in sorted(found.unreadable.items()):
            print(f"  not compared: {student}: {why}")
        print(f"side by side, matching lines marked: {found.path}")


def cmd_status(args):
    course = _course(args)
    for ps in args.problem_sets or PROBLEM_SET_NAMES:
        released = course.released(ps).exists()
        subs = instructor.submissions(course, ps)
        graded = [s for s in subs if (course.autograded / s / ps / f"{ps}.ipynb").exists()]
        print(f"{ps}: released={'yes' if released else 'no'}, submitted={len(subs)}, autograded={len(graded)}")
        if graded:
            print(instructor.format_table(course, ps))


def cmd_selfcheck(args):
    from autograder.authoring.selfcheck import compare_devices, selfcheck

    if args.device:
        return 0 if compare_devices(args.problem_sets or PROBLEM_SET_NAMES, seeds=args.seed,
                                    random_seeds=min(args.random_seeds, 1), device=args.device) else 1
    return 0 if selfcheck(args.problem_sets or PROBLEM_SET_NAMES, seeds=args.seed,
                          random_seeds=args.random_seeds) else 1


def cmd_publish(args):
    from autograder.instructor.publish import PublishError, publish

    try:
        publish(_course(args), Path(args.folder), args.solutions or [])
    except PublishError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def cmd_lab(args):
    from autograder.student.lab import run_lab

    return run_lab(args)


def cmd_site(args):
    from autograder.config import find_root
    from autograder.instructor.publish import PublishError, publish
    from autograder.authoring.site import SiteError, build_site

    root = find_root()
    try:
        edition = publish(Course.load(root), root / "build" / "edition", log=lambda line: None)
        print(f"built from the student edition in {edition}")
        build_site(root, Path(args.out) if args.out else root / "build" / "site", edition=edition)
    except (PublishError, SiteError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def cmd_demo(args):
    from autograder.instructor.demo import run_demo

    return 0 if run_demo(Path(args.course) if args.course else None, seed=args.seed) else 1


def _setting_option(name: str, cast) -> dict:
    """An autograde option that stands in for ``c.Harness.<name>`` for one run: the trait's help, and its check."""
    from autograder.config import Harness, check_setting

    trait = Harness.settings()[name]

    def checked(text: str):
        try:
            value = cast(text)
        except ValueError:
            value = text  # the trait refuses it, saying what it allows
        try:
            return check_setting(name, value)
        except SettingsError as error:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed: {error}") from None

    return {"type": checked, "help": f"{trait.help} Default: c.Harness.{name}.".replace("%", "%%")}


def _setting_flags() -> dict[str, str]:
    """The autograde option of each setting that has one, e.g. {"memory_mb": "--memory-mb"}."""
    from autograder.config import Harness

    autograde = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    return {action.dest: action.option_strings[0] for action in autograde["autograde"]._actions
            if action.dest in Harness.settings() and action.option_strings}


def cmd_settings(args):
    from autograder.config import find_root, settings_help, settings_markdown

    if args.markdown:
        print(settings_markdown(_setting_flags()), end="")
        return 0
    try:
        root = Path(args.course) if args.course else find_root()
    except FileNotFoundError:
        root = None
    current = Course.load(root).harness if root else None
    print(settings_help(_setting_flags(), current), end="")


def build_parser() -> argparse.ArgumentParser:
    from autograder.config import Harness

    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    parser.add_argument("--course", help="the course directory (default: the one holding nbgrader_config.py)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="generate the student versions (assignments/) from the masters")
    p.add_argument("problem_sets", nargs="*")
    p.set_defaults(run=cmd_release)

    p = sub.add_parser("collect", help="copy submissions from the nbgrader exchange, a folder or a zip into "
                                       "submitted/")
    p.add_argument("problem_set")
    p.add_argument("source", nargs="?", help="folder or .zip holding <student>/<ps>.ipynb or <student>.ipynb "
                                             "files; without it, the exchange (what students submitted from the "
                                             "Assignment List), with their submission times")
    p.set_defaults(run=cmd_collect)

    p = sub.add_parser("autograde", help="grade submitted/<student>/<ps>/ with the harness")
    p.add_argument("problem_set")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    # the settings' options take their help and their check from the Harness traits (docs/settings.md)
    p.add_argument("--jobs", **_setting_option("jobs", int))
    p.add_argument("--scheduler", **_setting_option("scheduler", str))
    p.add_argument("--seed", type=int, help="repeat an earlier run's hidden cases (its seed is in the log and in "
                                           "each autograder_report.json); by default every run draws a fresh one")
    limits = p.add_argument_group("limits (defaults: c.Harness.* in nbgrader_config.py)")
    limits.add_argument("--sandbox", choices=Harness.settings()["sandbox"].values, **_setting_option("sandbox", str))
    limits.add_argument("--setup-s", dest="setup_s", **_setting_option("setup_s", float))
    limits.add_argument("--function-s", dest="function_s", **_setting_option("function_s", float))
    limits.add_argument("--memory-mb", dest="memory_mb", **_setting_option("memory_mb", int))
    limits.add_argument("--cpu-s", dest="cpu_s", **_setting_option("cpu_s", int))
    p.set_defaults(run=cmd_autograde)

    p = sub.add_parser("feedback", help="write feedback HTML (nbgrader generate_feedback)")
    p.add_argument("problem_set")
    p.set_defaults(run=cmd_feedback)

    p = sub.add_parser("export", help="export grades for an LMS (Canvas, Moodle) or as CSV")
    p.add_argument("problem_sets", nargs="*", help="default: every problem set the gradebook knows")
    p.add_argument("--format", default="csv", choices=("csv", "canvas", "moodle", "nbgrader"),
                   help="canvas: Canvas's gradebook import; moodle: Moodle's CSV grade import, matched on email; "
                        "csv: one row per student; nbgrader: nbgrader export (default: csv)")
    p.add_argument("--to", help="the file to write (default: grades-<format>.csv)")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("report", help="an HTML page on how the class did: scores, pass rates, common failures, "
                                      "grader faults, timeouts, the slowest submissions")
    p.add_argument("problem_sets", nargs="+")
    p.add_argument("--to", help="the file to write (default: reports/<ps>.html); with one problem set only")
    p.set_defaults(run=cmd_report)

    p = sub.add_parser("similarity", help="pairs of students whose solution cells are alike (MOSS's winnowing on "
                                          "normalized tokens), function by function, side by side")
    p.add_argument("problem_sets", nargs="+")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="list pairs whose shared share of fingerprints reaches this (0 to 1; default 0.5)")
    p.add_argument("--to", help="the file to write (default: reports/<ps>-similarity.html); with one problem set only")
    p.set_defaults(run=cmd_similarity)

    p = sub.add_parser("settings", help="every c.Harness setting of nbgrader_config.py: its type, default, help "
                                        "and value in this course (docs/settings.md)")
    p.add_argument("--markdown", action="store_true", help="print docs/settings.md (python -m autograder settings "
                                                           "--markdown > docs/settings.md)")
    p.set_defaults(run=cmd_settings)

    p = sub.add_parser("status", help="what is released, submitted and graded")
    p.add_argument("problem_sets", nargs="*")
    p.set_defaults(run=cmd_status)

    p = sub.add_parser("selfcheck", help="check the registry: references against the master solutions")
    p.add_argument("problem_sets", nargs="*")
    p.add_argument("--seed", type=int, action="append", help="check at this seed (repeatable); "
                                                            "default: the visible seed and fresh random ones")
    p.add_argument("--random-seeds", type=int, default=3, help="how many fresh random seeds (default 3; "
                                                               "1 with --device)")
    p.add_argument("--device", choices=("cuda", "cpu"), help="check the references on this device against the "
                   "CPU: the same verdicts everywhere, and the largest difference of the expected outputs per "
                   "function (cuda: needs a GPU; cpu: the CPU against itself)")
    p.set_defaults(run=cmd_selfcheck)

    p = sub.add_parser("demo", help="the whole cycle on a built-in sample class, in demo/")
    p.add_argument("--seed", type=int, help="grade with these hidden cases, to compare two runs (default: fresh)")
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser("site", help="a static HTML site: the lectures executed, the problem sets, the weeks")
    p.add_argument("--out", help="where (default build/site/)")
    p.set_defaults(run=cmd_site)

    p = sub.add_parser("publish", help="write the student edition (the repository students clone): the lectures, "
                                       "the releases and their visible checks, never a master, a planted bug or "
                                       "a reference")
    p.add_argument("folder", help="a new or empty folder, or an earlier edition (replaced)")
    p.add_argument("--solutions", action="append", metavar="PS",
                   help="also post this problem set's master solutions, without its hidden tests (repeatable)")
    p.set_defaults(run=cmd_publish)

    p = sub.add_parser("lab", help="JupyterLab on the course: the venv on PATH, the gradebook made or checked, "
                                   "--allow-root as root, students' copies in work/")
    p.add_argument("--port", type=int)
    p.add_argument("--no-browser", action="store_true")
    p.add_argument("--repair-gradebook", action="store_true",
                   help="repair a gradebook left half-made by an earlier failed start (no row is touched)")
    p.add_argument("extra", nargs="*", help="more options for jupyter lab (after --)")
    p.set_defaults(run=cmd_lab)
    return parser


def main(argv=None) -> int:
    # nbgrader runs alembic as a program: make this environment's tools reachable
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except GradingRefused as error:
        print(f"GRADING REFUSED: {error}", file=sys.stderr)
        return 3
    except (UserError, SettingsError, FileNotFoundError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 2
