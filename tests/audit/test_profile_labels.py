"""Stored profile values in words (`audit.profile.value_label`), as the app shows them."""

from __future__ import annotations

from datetime import date

import pytest

from audit.profile import value_label


@pytest.mark.parametrize(("code", "value", "words"), [
    ("iom", True, "Yes"),
    ("iom", False, "No"),
    ("iom", None, "Unknown"),
    ("rosh", "very_high", "Very high"),
    ("mappa_level", "none", "Not MAPPA"),
    ("start_date", date(2019, 3, 1), "2019-03-01"),
    ("start_date", None, "Unknown"),
    ("gender", "", "Unknown"),
    ("gender", "[b]odd[/b]", "[b]odd[/b]"),  # outside the codes: as stored
])
def test_value_label(code: str, value: object, words: str) -> None:
    assert value_label(code, value) == words
