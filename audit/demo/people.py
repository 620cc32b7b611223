"""The demo's obviously fictional people, and the name its builder records in the trail."""

from __future__ import annotations

WHO = "iom-audit demo"


# Obviously fictional people; (name, role).
THEMATIC_INSPECTORS = ("Demo Inspector Ash", "Demo Inspector Birch", "Demo Inspector Hazel",
                       "Demo Inspector Rowan", "Demo Inspector Willow")

CORE_INSPECTORS = ("Demo Inspector Alder", "Demo Inspector Beech", "Demo Inspector Elm",
                   "Demo Inspector Holly", "Demo Inspector Juniper", "Demo Inspector Larch",
                   "Demo Inspector Poplar", "Demo Inspector Yew")

LEAD = "Demo Lead Cedar"

PEOPLE: tuple[tuple[str, str], ...] = (
    *((n, "inspector") for n in THEMATIC_INSPECTORS + CORE_INSPECTORS),
    (LEAD, "lead"), ("Demo Lead Oak", "lead"), ("Demo Researcher Maple", "researcher"),
)
