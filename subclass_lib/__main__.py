"""Command line: ``python -m subclass_lib <experiment> [flags] --json out.json``.

Prints the experiment's table and, with ``--json``, writes its results as JSON.
Bad flag values give a usage message and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import time

from .cli import add_common_arguments, all_commands
from .experiments.base import write_json


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(
        prog="python -m subclass_lib",
        description="Run a chapter's experiment of the distillation book and print its table.")
    sub = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    commands = all_commands()
    parsers = {}
    for name, cmd in commands.items():
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        add_common_arguments(p)
        cmd.add_arguments(p)
        parsers[name] = p
    return parser, {n: (commands[n], parsers[n]) for n in commands}


def main(argv: list[str] | None = None) -> int:
    parser, commands = build_parser()
    args = parser.parse_args(argv)
    cmd, sub = commands[args.experiment]
    t0 = time.perf_counter()
    try:
        result = cmd.run(args)
    except ValueError as exc:  # a bad flag value: usage error, exit code 2
        sub.error(str(exc))
    print(cmd.render(result))
    if args.json:
        write_json(result, args.json)
        print(f"wrote {args.json} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
