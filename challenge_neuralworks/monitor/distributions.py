"""Binning and the population stability index, shared by the training reference and the report.

One implementation on both sides is what makes a PSI meaningful: the reference's shares are
computed at training time with :func:`numeric_counts` / :func:`value_counts` on the same edges
and values the monitor later applies to captured features.

Bins of a numeric feature are right-closed, ``(-inf, e0], (e0, e1], ..., (e_last, inf)``, so a
value that sits exactly on an edge (a point mass) always lands in the same bin.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
from scipy.special import rel_entr

#: Shares below this are raised to it before taking logarithms: an empty bin on one side would
#: otherwise make the PSI infinite. 1e-4 is the usual choice; an unseen category holding 1% of
#: the captures then contributes 0.01 * ln(100) ~= 0.046.
PSI_EPSILON: Final[float] = 1e-4


def quantile_edges(values: np.ndarray, bins: int = 10) -> list[float]:
    """Inner edges of ``bins`` equal-frequency bins of ``values`` (NaN ignored).

    Each edge is an observed value, the ``k/bins`` quantile by the inverse of the empirical
    distribution (the smallest value with at least ``k/bins`` of the data at or below it,
    computed on integers, so no rounding moves it). Repeated quantiles (a value holding more
    than one bin's share) are dropped, so that value gets one bin of its own share rather than
    several empty bins.
    """
    present = np.sort(values[~np.isnan(values)])
    n = len(present)
    if n == 0:
        return []
    ranks = -(-np.arange(1, bins) * n // bins) - 1  # ceil(k * n / bins) - 1
    edges = np.unique(present[ranks])
    return [float(edge) for edge in edges if edge < present[-1]]


def numeric_counts(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Count of non-NaN ``values`` per bin: ``len(edges) + 1`` integers."""
    present = values[~np.isnan(values)]
    index = np.searchsorted(np.asarray(edges, dtype=np.float64), present, side="left")
    return np.bincount(index, minlength=len(edges) + 1)


def value_counts(values: Iterable[object], known: Sequence[object]) -> tuple[np.ndarray, int]:
    """Count of each ``known`` value (categories, or the values of a discrete feature) and of
    everything else (values never seen in training). ``None`` values are not counted."""
    position = {value: i for i, value in enumerate(known)}
    counts = np.zeros(len(known), dtype=np.int64)
    unseen = 0
    for value in values:
        if value is None:
            continue
        i = position.get(value)
        if i is None:
            unseen += 1
        else:
            counts[i] += 1
    return counts, unseen


def shares(counts: np.ndarray) -> np.ndarray:
    """Counts as shares summing to 1 (all zeros stay zeros)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return counts / total if total > 0 else counts


def psi_terms(
    expected: Sequence[float], actual: Sequence[float], epsilon: float = PSI_EPSILON
) -> np.ndarray:
    """Per-bin terms ``(a - e) * ln(a / e)`` of the PSI, shares floored at ``epsilon``.

    The PSI is the symmetric Kullback-Leibler divergence of the two distributions, so each term
    is ``rel_entr(a, e) + rel_entr(e, a)``.
    """
    e = np.maximum(np.asarray(expected, dtype=np.float64), epsilon)
    a = np.maximum(np.asarray(actual, dtype=np.float64), epsilon)
    if e.shape != a.shape:
        raise ValueError(f"{e.shape[0]} expected bins but {a.shape[0]} actual bins")
    return rel_entr(a, e) + rel_entr(e, a)


def psi(expected: Sequence[float], actual: Sequence[float], epsilon: float = PSI_EPSILON) -> float:
    """Population stability index of ``actual`` shares against ``expected`` shares.

    Rule of thumb (Siddiqi, *Credit Risk Scorecards*, 2006): below 0.1 no real change, 0.1-0.25
    a moderate shift, above 0.25 a major one.
    """
    return float(psi_terms(expected, actual, epsilon).sum())


def sampling_noise(bins: int, rows: int) -> float:
    """PSI expected from sampling alone when ``rows`` values are drawn from the reference
    distribution itself: about ``(bins - 1) / rows`` (``rows * PSI`` is approximately
    chi-square with ``bins - 1`` degrees of freedom). Small windows need a larger margin."""
    return (bins - 1) / rows if rows > 0 else float("inf")
