"""Figures of the chapter on subclass distillation students."""

from __future__ import annotations

__all__: list[str] = []
