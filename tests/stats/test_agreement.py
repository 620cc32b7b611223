"""The cross-table coefficients: batched, and alpha's closed form equal to the package."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from stats import agreement


def _pairs_of(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = table.shape[0]
    cells = np.repeat(np.arange(k * k), table.ravel().astype(int))
    return cells // k, cells % k


@pytest.mark.parametrize("seed", range(40))
def test_alpha_closed_form_equals_the_package(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 5))
    table = rng.integers(0, 12, (k, k)) * (rng.random((k, k)) < 0.8)
    first, second = _pairs_of(table)
    if len(set(first) | set(second)) < 2:
        pytest.skip("one category: alpha is 0/0")
    package = krippendorff.alpha(reliability_data=np.vstack([first, second]).astype(float),
                                 level_of_measurement="nominal")
    assert agreement.alpha_two_raters(table) == pytest.approx(package, abs=1e-12)
    assert agreement.krippendorff_alpha(first, second) == pytest.approx(package, abs=1e-15)


def test_batched_equals_one_by_one() -> None:
    rng = np.random.default_rng(3)
    tables = rng.integers(0, 20, (7, 5, 3, 3))
    for fn in (agreement.observed_agreement, agreement.pabak, agreement.gwet_ac1,
               agreement.alpha_two_raters):
        batched = fn(tables)
        assert batched.shape == (7, 5)
        for i in range(7):
            for j in range(5):
                assert batched[i, j] == pytest.approx(float(fn(tables[i, j])), abs=1e-14)


def test_undefined_tables_are_nan() -> None:
    one = np.array([[9]])
    assert np.isnan(agreement.pabak(one)) and np.isnan(agreement.gwet_ac1(one))
    only_yes = np.array([[9, 0], [0, 0]])  # two categories listed, one used
    assert np.isnan(agreement.alpha_two_raters(only_yes))
    assert agreement.gwet_ac1(only_yes) == 1.0  # Pe = 0 when pi_yes = 1
    assert np.isnan(agreement.krippendorff_alpha([0, 0], [0, 0]))
    with pytest.raises(ValueError):
        agreement.gwet_ac1(np.ones((2, 3)))
