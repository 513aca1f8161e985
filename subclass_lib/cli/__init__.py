"""Command line of the book: one module per chapter, each with a ``COMMANDS`` list of
the sub-commands of ``python -m subclass_lib`` (flags, run, text table).

The recipes in :mod:`subclass_lib.experiments` know nothing of flags; these modules turn
flags into a recipe's config, call it, and render its result.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, fields

from ..checks import SCALES
from ..threads import THREADS_ENV, available_cpus, check_threads, cpu_threads, positive_int_env

def cli_threads(requested: int | None) -> int:
    """Threads of a command-line run: ``--threads``, else ``$SUBCLASS_LIB_THREADS``, else every CPU (one run
    has the machine to itself; the chapters' workers use one thread each)."""
    n = requested if requested is not None else positive_int_env(THREADS_ENV, None)
    return check_threads(available_cpus() if n is None else n, "--threads")


@contextlib.contextmanager
def command_line(threads: int | None = None):
    """The setting of one command-line run: every model on ``threads`` threads (default :func:`cli_threads`)."""
    with cpu_threads(cli_threads(threads)):
        yield


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


#: Fields every command gets from :func:`add_common_arguments` (never a config flag of its own).
COMMON_FIELDS = ("seed", "scale", "device")

#: The flag of a field is its name with dashes (``teacher_epochs`` -> ``--teacher-epochs``); these older
#: spellings, documented by earlier versions of the chapters and used by other tools, keep working as
#: aliases in every command that has the field. Counted transfer sets (``transfer_size``, chapters 1-2)
#: and fractions (``transfer_fraction``, chapters 3-5) are different concepts with different flags.
OLD_FLAGS: dict[str, tuple[str, ...]] = {
    "teacher_epochs": ("epochs_teacher", "n_epochs_teacher"),
    "student_epochs": ("epochs_student", "n_epochs_student"),
    "transfer_size": ("train_subset",),
    "transfer_fraction": ("student_fraction",),
    "teacher_fraction": ("train_fraction",),
}

#: Help text of the fields shared by several chapters (a command's own dict adds or overrides).
FIELD_HELP: dict[str, str] = {
    "temperature": "distillation temperature T > 0",
    "alpha": "task balance in [0, 1]: weight of the soft-target term (1 - alpha weighs the hard labels)",
    "teacher_epochs": "teacher training epochs",
    "student_epochs": "student training epochs",
    "teacher_hidden": "hidden layer sizes of the teacher, e.g. 512,512",
    "student_hidden": "hidden layer sizes of the students, e.g. 128,128",
    "teacher_fraction": "fraction of the training images the teacher trains on, in (0, 1]",
    "transfer_fraction": "fraction of the training images the students train on (the transfer set), in (0, 1]",
    "transfer_size": "number of images in the students' transfer set",
    "teacher_dropout": "teacher dropout rate on hidden units, in [0, 1)",
    "batch_size": "minibatch size",
    "lr": "Adam learning rate",
    "weight_decay": "weight decay",
    "jitter": "teacher augmentation: random shifts of up to this many pixels",
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _field_default(f: Field):
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def field_type(f: Field) -> type:
    """The flag type of a config field: its default's type (``bool``, ``int``, ``float``, ``str``), else its
    annotation's first type (``int | None`` -> ``int``); a tuple (layer sizes, temperatures, digits) is
    read as text that the config parses and checks."""
    default = _field_default(f)
    if default is not None:
        return str if isinstance(default, (tuple, list)) else type(default)
    first = str(f.type).split("|")[0].strip()
    return {"int": int, "float": float, "bool": bool}.get(first, str)


def add_config_arguments(parser: argparse.ArgumentParser, cls, help_texts: Mapping[str, str] | None = None, *,
                         skip: Sequence[str] = (), flags: Mapping[str, str] | None = None,
                         types: Mapping[str, Callable] | None = None, choices: Mapping[str, Sequence] | None = None,
                         metavars: Mapping[str, str] | None = None, base=None) -> dict[str, str]:
    """One flag per field of the config dataclass ``cls`` (but :data:`COMMON_FIELDS`, ``skip`` and fields
    without a flag type), ``dest`` the field: ``--teacher-epochs`` for ``teacher_epochs`` (``flags`` gives
    another name, also the ``dest``, where two configs of one command share a field, e.g. the students'
    ``--student-lr``),
    plus the old spellings of :data:`OLD_FLAGS` as aliases. The type comes from :func:`field_type` (or
    ``types``), the help text from ``help_texts`` (else :data:`FIELD_HELP`); every flag defaults to ``None``
    (unset: the scale's value, see :func:`given_fields`), its help says the value of ``base`` (default
    ``cls()``). A bool field is a ``--x`` / ``--no-x`` pair. Returns ``{field: dest}`` of the fields that got
    a flag (for :func:`given_fields`)."""
    help_texts, flags, types = {**FIELD_HELP, **(help_texts or {})}, flags or {}, types or {}
    choices, metavars = choices or {}, metavars or {}
    base = cls() if base is None else base
    added = {}
    for f in fields(cls):
        if f.name in COMMON_FIELDS or f.name in skip:
            continue
        typ = types.get(f.name) or field_type(f)
        name = flags.get(f.name, f.name)
        options = [_flag(name)] + [_flag(old) for old in OLD_FLAGS.get(f.name, ()) if old != name]
        default = getattr(base, f.name)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else "none" if default is None else default
        text = f"{help_texts.get(f.name, f.name.replace('_', ' '))} (default: the scale's value; {shown} at the default scale)"
        if typ is bool:
            parser.add_argument(*options, dest=name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            parser.add_argument(*options, dest=name, type=typ, default=None, choices=choices.get(f.name),
                                metavar=metavars.get(f.name, "T" if f.name == "temperature" else name.split("_")[-1].upper()),
                                help=text)
        added[f.name] = name
    return added


def given_fields(args: argparse.Namespace, names: Sequence[str] | Mapping[str, str]) -> dict:
    """The fields among ``names`` (or ``{field: dest}``) whose flag was given, by field (flags left unset
    keep the scale's value)."""
    dests = names if isinstance(names, Mapping) else {k: k for k in names}
    return {k: getattr(args, d) for k, d in dests.items() if getattr(args, d, None) is not None}


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


def layer_sizes(layers: int) -> Callable[[str], str]:
    """A flag type for hidden sizes: ``"1200,1200"`` as it is, one width (``"1200"``) as ``layers`` layers of it
    (``"1200,1200"`` for ``layers=2``); the config parses and checks the sizes."""
    def parse(text: str) -> str:
        text = text.strip()
        return ",".join([text] * layers) if text.isdigit() else text
    parse.__name__ = "layer sizes"
    return parse


def all_commands() -> dict[str, Command]:
    """Every CLI command of every chapter's command module, by name."""
    out: dict[str, Command] = {}
    for mod in RECIPE_MODULES:
        for cmd in importlib.import_module(f"{__name__}.{mod}").COMMANDS:
            out[cmd.name] = cmd
    return out
