"""Figures of the chapter(s) on ls_kd."""

from __future__ import annotations

__all__: list[str] = []
