"""Recipes of the chapter(s) on ls_kd (to be written)."""

from __future__ import annotations

from .base import Command

COMMANDS: list[Command] = []
