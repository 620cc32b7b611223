"""The CLI's independent-effect cell shows every fitted effect, flagged by its status."""

from cli.compare import _effect_cell
from stats.results import EffectResult


def test_a_fitted_effect_with_a_dropped_covariate_is_shown() -> None:
    effect = EffectResult(3.2, (2.0, 5.1), 5e-6, 900, "single_level", "dropped: provider",
                          120, 6, ("provider",), ("case_type", "rosh", "likelihood"))
    assert _effect_cell(effect, 0.05) == "3.20 (p <0.001) * [single_level]"


def test_an_unfitted_effect_shows_its_status() -> None:
    effect = EffectResult(None, None, None, 900, "separation", "every answer the same")
    assert _effect_cell(effect, 0.05) == "separation"
    ok = EffectResult(1.5, (1.1, 2.0), 0.2, 900, "ok")
    assert _effect_cell(ok, 0.05) == "1.50 (p 0.200)"
