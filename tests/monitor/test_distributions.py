"""Binning and PSI against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from challenge_neuralworks.monitor.distributions import (
    PSI_EPSILON,
    numeric_counts,
    psi,
    psi_terms,
    quantile_edges,
    sampling_noise,
    shares,
    value_counts,
)


def test_psi_of_two_bins_by_hand() -> None:
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
    by_hand = 0.25 * math.log(2) + 0.25 * math.log(1.5)
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(by_hand, abs=1e-12)
    assert by_hand == pytest.approx(0.274653, abs=1e-6)


def test_psi_is_symmetric_and_zero_for_equal_shares() -> None:
    expected, actual = [0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]
    assert psi(expected, actual) == pytest.approx(psi(actual, expected))
    assert psi(expected, expected) == 0.0


def test_an_empty_bin_is_floored_at_epsilon() -> None:
    # training never saw the third bin; 20% of the captures fall in it
    by_hand = 2 * (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.2 - PSI_EPSILON) * math.log(
        0.2 / PSI_EPSILON
    )
    assert psi([0.5, 0.5, 0.0], [0.4, 0.4, 0.2]) == pytest.approx(by_hand, abs=1e-12)
    assert by_hand == pytest.approx(1.564049, abs=1e-6)
    terms = psi_terms([0.5, 0.5, 0.0], [0.4, 0.4, 0.2])
    assert terms[2] == pytest.approx((0.2 - PSI_EPSILON) * math.log(0.2 / PSI_EPSILON))


def test_psi_of_ten_deciles_by_hand() -> None:
    expected = [0.1] * 10
    actual = [0.05, 0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.15, 0.15]
    by_hand = 2 * (-0.05 * math.log(0.5)) + 2 * (0.05 * math.log(1.5))
    assert psi(expected, actual) == pytest.approx(by_hand, abs=1e-12)


def test_mismatched_bins_are_an_error() -> None:
    with pytest.raises(ValueError, match="expected bins"):
        psi([0.5, 0.5], [1.0])


def test_bins_are_right_closed() -> None:
    values = np.array([1.0, 2.0, 2.0, 3.0, np.nan])
    assert numeric_counts(values, [2.0]).tolist() == [3, 1]  # 2.0 sits in (-inf, 2]
    assert numeric_counts(values, [1.5, 2.5]).tolist() == [1, 2, 1]
    assert numeric_counts(values, []).tolist() == [4]


def test_quantile_edges_are_observed_values_and_a_point_mass_gets_one_bin() -> None:
    assert quantile_edges(np.arange(100.0), 10) == [9.0 + 10 * k for k in range(9)]
    values = np.array([0.0] * 90 + list(range(1, 11)), dtype=float)
    edges = quantile_edges(values, 10)
    assert edges == [0.0]  # nine deciles at 0 collapse into one edge, no empty bins
    assert numeric_counts(values, edges).tolist() == [90, 10]
    values = np.array([0.0] * 50 + list(range(1, 51)), dtype=float)
    assert quantile_edges(values, 10) == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert quantile_edges(np.array([np.nan]), 10) == []
    assert quantile_edges(np.full(5, 3.0), 10) == []  # a constant: one bin


def test_value_counts_separate_unseen_and_missing() -> None:
    counts, unseen = value_counts(["a", "b", "a", None, "z", "y"], ["a", "b", "c"])
    assert counts.tolist() == [2, 1, 0] and unseen == 2


def test_shares_and_sampling_noise() -> None:
    assert shares(np.array([1, 3])).tolist() == [0.25, 0.75]
    assert shares(np.array([0, 0])).tolist() == [0.0, 0.0]
    assert sampling_noise(10, 900) == pytest.approx(0.01)
    assert sampling_noise(10, 0) == math.inf


def test_sampling_noise_matches_simulated_psi_of_the_reference_itself() -> None:
    """rows * PSI is about chi-square(bins - 1): its mean is (bins - 1) / rows."""
    rng = np.random.default_rng(0)
    reference = np.full(10, 0.1)
    rows = 2000
    simulated = [
        psi(reference, shares(np.bincount(rng.integers(0, 10, rows), minlength=10)))
        for _ in range(400)
    ]
    assert np.mean(simulated) == pytest.approx(sampling_noise(10, rows), rel=0.15)
