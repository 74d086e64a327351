"""`python -m autograder lab` in the student edition (what `make lab` runs): JupyterLab on your copies in work/."""
import argparse
import os
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("lab", help="JupyterLab on the course, your copies of the lectures and problem sets in work/")
    p.add_argument("--port", type=int)
    p.add_argument("--no-browser", action="store_true")
    p.add_argument("extra", nargs="*", help="more options for jupyter lab (after --)")
    args = parser.parse_args(argv)
    args.repair_gradebook, args.gradebook = False, False
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    from autograder.student.lab import run_lab

    return run_lab(args) or 0


if __name__ == "__main__":
    raise SystemExit(main())
