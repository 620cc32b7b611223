"""A measured figure: its samples, target, peak memory, and whether the target was met."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks.measure import middle, p95


@dataclass
class Figure:
    """One row of the table. `values` are seconds (shown in `unit`), or a plain ratio."""

    key: str
    name: str
    values: list[float]
    runs: str
    peak_mb: float | None = None
    limit: float | None = None  # the target, in the figure's own unit
    unit: str = "s"  # "s", "ms" (values are seconds, shown in ms), "x" (a ratio) or "MB"
    stat: str = "median"  # or "p95"
    note: str = ""
    profile: Sequence[str] | None = None  # argv (after python) to profile when missed
    session: str | None = None  # the command profiles itself: its phase session to read
    prepare: Callable[[], None] | None = field(default=None, repr=False)
    detail: str = ""  # what the step itself reports of where the time went (shown if missed)

    @property
    def value(self) -> float:
        """The figure: the median (or p95) of its samples, in its unit."""
        raw = p95(self.values) if self.stat == "p95" else middle(self.values)
        return raw * 1000 if self.unit == "ms" else raw

    @property
    def met(self) -> bool | None:
        """Whether the target is met; None when there is no target."""
        return None if self.limit is None else self.value < self.limit

    def target_text(self) -> str:
        if self.limit is None:
            return "—"
        return f"< {self.limit:g}{'x' if self.unit == 'x' else ' ' + self.unit}"

    def value_text(self) -> str:
        if self.unit == "x":
            return f"{self.value:.2f}x"
        if self.unit == "ms":
            return f"{self.value:.1f} ms"
        if self.unit == "MB":
            return f"{self.value:.0f} MB"
        return f"{self.value:.2f} s"

    def met_text(self) -> str:
        return {None: "—", True: "yes", False: "**no**"}[self.met]


def peak(*values: float | None) -> float | None:
    """The largest known peak memory."""
    known = [v for v in values if v is not None]
    return max(known) if known else None
