"""Command line of the book: one module per chapter, each with a ``COMMANDS`` list of
the sub-commands of ``python -m subclass_lib`` (flags, run, text table).

The recipes in :mod:`subclass_lib.experiments` know nothing of flags; these modules turn
flags into a recipe's config, call it, and render its result. None of this is part of
the model cache's fingerprint (``runner.training_sources``), so editing a help text does
not throw away trained models.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ..checks import SCALES

# command modules, in the order of the book; each has a COMMANDS list
RECIPE_MODULES: tuple[str, ...] = ("hinton", "ls_kd", "subclass", "subclass_students")


@dataclass(frozen=True)
class Command:
    """One sub-command of ``python -m subclass_lib``.

    ``add_arguments(parser)`` declares the flags; ``run(args)`` returns the JSON-able
    result (a dict); ``render(result)`` returns the text table printed to stdout.
    Raise ``ValueError`` for bad flag values: the CLI turns it into a usage error (exit 2).
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], dict]
    render: Callable[[dict], str]


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags every experiment takes: --seed, --scale, --device, --json, --no-cache."""
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--scale", choices=SCALES, default="default",
                        help="'default': the book's size (minutes on a laptop CPU); 'full': the papers' size")
    parser.add_argument("--device", default="auto", help="'auto' (GPU if present), 'cpu' or 'cuda'")
    parser.add_argument("--json", metavar="PATH", default=None, help="also write the results as JSON here")
    parser.add_argument("--no-cache", action="store_true", help="retrain even if a cached model exists")


def documented_config(config: dict, names: dict[str, str], convert: dict[str, Callable] | None = None) -> dict:
    """``config`` (a recipe's ``asdict``) with the keys of the command's documented JSON: ``names``
    maps a field to its JSON key (the library's vocabulary moved on, the JSON keys stay); ``convert``
    maps a field to a function of its value (e.g. a one-layer ``hidden`` tuple back to the flag's int)."""
    convert = convert or {}
    return {names.get(k, k): convert[k](v) if k in convert else v for k, v in config.items()}


def layer_width(layers: int) -> Callable:
    """For :func:`documented_config`: hidden sizes as a width flag writes them (``(800, 800)`` -> 800 for
    two equal layers, ``(256,)`` -> 256 for one), or as a list when they are not ``layers`` equal layers."""
    return lambda h: h[0] if len(h) == layers and len(set(h)) == 1 else list(h)


def all_commands() -> dict[str, Command]:
    """Every CLI command of every chapter's command module, by name."""
    out: dict[str, Command] = {}
    for mod in RECIPE_MODULES:
        for cmd in importlib.import_module(f"{__name__}.{mod}").COMMANDS:
            out[cmd.name] = cmd
    return out
