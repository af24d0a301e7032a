"""Probability calibration stored as two small arrays (no scikit-learn at inference).

Gradient boosting with log-loss is close to calibrated, but training on duplicated rows with
blanked fields and on a different season than the one served can bend it; an isotonic map fitted
on out-of-fold predictions puts "30%" back at 30% of flights delayed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from challenge_neuralworks.artifacts import artifact_type


@artifact_type
@dataclass(frozen=True, eq=False)
class IsotonicCalibrator:
    """Monotone piecewise-linear map from model probability to calibrated probability."""

    x: np.ndarray
    y: np.ndarray

    def __call__(self, probability: np.ndarray) -> np.ndarray:
        """Calibrated probabilities; inputs outside the fitted range are clipped."""
        return np.interp(probability, self.x, self.y)

    @classmethod
    def fit(cls, probability: np.ndarray, labels: np.ndarray) -> IsotonicCalibrator:
        """Fit on out-of-fold probabilities (training-time: imports scikit-learn)."""
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(probability, labels)
        return cls(
            x=np.asarray(iso.X_thresholds_, dtype=np.float64),
            y=np.asarray(iso.y_thresholds_, dtype=np.float64),
        )
