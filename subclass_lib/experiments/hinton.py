"""Recipes of the chapter(s) on hinton (to be written)."""

from __future__ import annotations

from .base import Command

COMMANDS: list[Command] = []
