"""One recipe per chapter: a frozen config dataclass in, JSON-serialisable results out.

The command line of each recipe lives in :mod:`subclass_lib.cli`.
"""

from __future__ import annotations

from .base import format_table, result_table, to_jsonable, write_json  # noqa: F401
