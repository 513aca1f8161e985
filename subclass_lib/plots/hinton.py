"""Figures of the chapter(s) on hinton."""

from __future__ import annotations

__all__: list[str] = []
