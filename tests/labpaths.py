"""Paths the tests share (a module of its own: every folder's conftest.py is imported as `conftest`)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
