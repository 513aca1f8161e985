"""Recipes of the chapter on subclass distillation students (to be written)."""

from __future__ import annotations

from .base import Command

COMMANDS: list[Command] = []
