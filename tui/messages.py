"""Typed messages that thread workers post back to their screens."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class Failed(Message):
    """A worker's job failed with an expected error, shown as one line."""

    what: str
    error: str
