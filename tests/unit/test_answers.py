"""One definition of a valid prediction answer: the published response models refuse bad ones."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from challenge_neuralworks.schemas import DelayPrediction, MinutesPrediction, validate_answer

GOOD = {
    "prediction": [0.8, 0.2],
    "delayed": True,
    "threshold": 0.198,
    "model": "delay",
    "version": "v",
}
MINUTES = {"prediction": {"expected": 6.0, "p50": 4.0, "p90": 15.0}, "model": "m", "version": "v"}


def test_good_answers_pass_single_and_batch() -> None:
    validate_answer(DelayPrediction, GOOD)
    item = {k: v for k, v in GOOD.items() if k not in ("model", "version")}
    on_time = {**item, "delayed": False, "prediction": [0.9, 0.1]}
    validate_answer(DelayPrediction, {"predictions": [item, on_time], "model": "d", "version": "v"})
    validate_answer(MinutesPrediction, MINUTES)


@pytest.mark.parametrize(
    "bad",
    [
        {**GOOD, "prediction": [0.7, 0.2]},  # does not sum to 1
        {**GOOD, "delayed": False},  # contradicts the threshold
        {**GOOD, "prediction": [1.2, -0.2]},  # not probabilities
        {**GOOD, "prediction": [1.0]},  # not a pair
        {**GOOD, "extra": 1},  # an undocumented field
        {k: v for k, v in GOOD.items() if k != "version"},  # which model answered is required
    ],
)
def test_bad_delay_answers_are_refused(bad: dict) -> None:
    with pytest.raises(ValidationError):
        validate_answer(DelayPrediction, bad)


def test_crossed_quantiles_are_refused() -> None:
    with pytest.raises(ValidationError, match="below p50"):
        validate_answer(
            MinutesPrediction, {**MINUTES, "prediction": {"expected": 6.0, "p50": 9.0, "p90": 5.0}}
        )
