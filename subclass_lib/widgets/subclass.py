"""Slider panels of the chapter(s) on subclass."""

from __future__ import annotations

__all__: list[str] = []
