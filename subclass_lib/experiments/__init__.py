"""One recipe per chapter: a frozen config dataclass in, JSON-serialisable results out.

Each recipe module defines ``COMMANDS``, the sub-commands of ``python -m subclass_lib``.
"""

from __future__ import annotations

import importlib

from .base import Command, format_table, to_jsonable, write_json  # noqa: F401

# recipe modules, in the order of the book; each has a COMMANDS list
RECIPE_MODULES: tuple[str, ...] = ("hinton", "ls_kd", "subclass", "subclass_students")


def all_commands() -> dict[str, Command]:
    """Every CLI command of every recipe module, by name."""
    out: dict[str, Command] = {}
    for mod in RECIPE_MODULES:
        for cmd in importlib.import_module(f"{__name__}.{mod}").COMMANDS:
            out[cmd.name] = cmd
    return out
