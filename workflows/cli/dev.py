"""Command group 'dev': tools for developers (seed data for benchmarks)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
