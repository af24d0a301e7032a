"""``monitor``'s exit statuses: 0 nothing crossed, 1 a threshold crossed, 2 bad input."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from challenge_neuralworks.capture import DirectorySink
from challenge_neuralworks.cli import main
from challenge_neuralworks.commands.monitor import BadInputError, parse_since
from challenge_neuralworks.data import DEFAULT_DATA_PATH
from challenge_neuralworks.delay.model import DelayClassifier
from challenge_neuralworks.monitor import thresholds
from challenge_neuralworks.registry import Registry


@pytest.fixture(scope="module")
def like_training(
    tmp_path_factory: pytest.TempPathFactory,
    jan_oct_model: DelayClassifier,
    jan_oct: pd.DataFrame,
    replay_flights,
) -> Path:
    """3,000 random training flights: what the reference describes, so nothing moved."""
    out = tmp_path_factory.mktemp("like-training")
    sample = jan_oct.sample(3000, random_state=1).sort_values("scheduled")
    assert replay_flights(jan_oct_model, sample, DirectorySink(out))["captured"] == 3000
    return out


def read_report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


@pytest.fixture
def monitor(run_monitor, jan_oct_models: Path, like_training: Path, tmp_path: Path):
    """``monitor`` on the training-like captures by default; the exit status."""

    def run(
        *extra: str,
        models: Path | None = None,
        captures: Path | None = None,
        out: Path | None = None,
    ) -> int:
        return run_monitor(
            models or jan_oct_models,
            captures or like_training,
            out or tmp_path / "report",
            *extra,
        )

    return run


def test_captures_like_the_training_data_cross_nothing(
    monitor, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert monitor() == 0
    report = read_report(tmp_path / "report")
    assert report["status"] == "ok" and report["alerts"] == []
    assert report["score"]["psi"] < 0.05
    monitored = [f for f in report["features"].values() if f["role"] != "calendar"]
    assert max(f["psi"] for f in monitored) < 0.05
    assert report["unseen"]["flights"]["unknown_share"] == 0.0
    assert json.loads(capsys.readouterr().out)["status"] == "ok"
    for name in ("report.md", "volumes.png", "score.png", "features.png", "categories.png"):
        assert (tmp_path / "report" / name).stat().st_size > 1000


@pytest.fixture
def buenos_aires(
    jan_oct_model: DelayClassifier, jan_oct: pd.DataFrame, replay_flights, tmp_path: Path
):
    """Captures of the first ``n`` training flights to Buenos Aires (9% of all of them): a
    window in which every request is for one international destination."""

    def capture(n: int) -> Path:
        captures = tmp_path / "captures"
        only = jan_oct[jan_oct["destination"] == "Buenos Aires"].head(n)
        assert replay_flights(jan_oct_model, only, DirectorySink(captures))["captured"] == n
        return captures

    return capture


def test_a_moved_population_crosses_a_threshold(monitor, buenos_aires, tmp_path: Path) -> None:
    assert monitor(captures=buenos_aires(800)) == 1
    report = read_report(tmp_path / "report")
    assert report["status"] == "alert"
    crossed = {(a["check"], a["subject"]) for a in report["alerts"]}
    assert ("feature_psi", "destination") in crossed
    assert ("feature_psi", "international") in crossed
    assert "**ALERT**" in (tmp_path / "report" / "report.md").read_text()


def test_too_few_predictions_are_reported_but_not_judged(
    monitor, buenos_aires, tmp_path: Path
) -> None:
    assert monitor(captures=buenos_aires(thresholds.MIN_PREDICTIONS - 1)) == 0
    report = read_report(tmp_path / "report")
    assert report["status"] == "not_judged" and report["alerts"] == []
    assert report["features"]["destination"]["psi"] > thresholds.FEATURE_PSI


def test_the_minutes_model_is_monitored_the_same_way(
    run_monitor, fast_models_dir: Path, nov_dec: pd.DataFrame, replay_flights, tmp_path: Path
) -> None:
    model = Registry(fast_models_dir).get("delay_minutes")
    captures = tmp_path / "captures"
    sample = nov_dec.sample(1500, random_state=2).sort_values("scheduled")
    assert replay_flights(model, sample, DirectorySink(captures))["captured"] > 1400
    labels = ("--labels", str(DEFAULT_DATA_PATH))
    code = run_monitor(fast_models_dir, captures, tmp_path / "r", *labels, model="delay_minutes")
    report = read_report(tmp_path / "r")
    assert code == (1 if report["alerts"] else 0)
    assert (
        report["score"]["name"] == "expected_minutes" and report["score"]["source"] == "in_sample"
    )
    assert report["score"]["psi"] is not None
    metrics = report["quality"]["metrics"]
    assert metrics["mae"] > 0 and metrics["rmse"] >= metrics["mae"]
    assert (tmp_path / "r" / "weekly.png").stat().st_size > 5_000


# ------------------------------------------------------------------------------- bad input
def assert_bad_input(code: int, capsys: pytest.CaptureFixture, message: str) -> None:
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_an_unknown_model(
    jan_oct_models: Path, like_training: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(
        [
            "monitor",
            "--model",
            "nope",
            "--captures",
            str(like_training),
            "--models-dir",
            str(jan_oct_models),
            "--out",
            str(tmp_path),
        ]
    )
    assert_bad_input(code, capsys, "unknown model 'nope'")
    assert not (tmp_path / "report.json").exists()


BROKEN_REFERENCES = {
    "no reference": (lambda m: m.pop("reference"), "no training reference"),
    "future schema": (lambda m: m["reference"].update(schema=99), "schema 99"),
}


@pytest.mark.parametrize("case", BROKEN_REFERENCES.values(), ids=BROKEN_REFERENCES.keys())
def test_a_manifest_without_a_usable_reference(
    monitor, jan_oct_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture, case
) -> None:
    change, message = case
    models = tmp_path / "models"
    shutil.copytree(jan_oct_models, models)
    path = models / "delay" / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    assert_bad_input(monitor(models=models), capsys, message)


def test_unreadable_or_unusable_captures(
    monitor, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert_bad_input(monitor(captures=tmp_path / "absent"), capsys, "cannot read")
    junk = tmp_path / "junk.log"
    junk.write_text('START RequestId: 1\n{"level": "INFO"}\n{"kind": "prediction_capture", "sch\n')
    assert_bad_input(monitor(captures=junk), capsys, "no usable capture line of model 'delay'")


def test_captures_older_than_since_leave_nothing(monitor, capsys: pytest.CaptureFixture) -> None:
    assert_bad_input(monitor("--since", "7d"), capsys, "outside_window 3000")  # 2017 captures


@pytest.mark.parametrize("since", ["7x", "yesterday", "0d", "-7d", "2017-13-01"])
def test_a_bad_since(monitor, capsys: pytest.CaptureFixture, since: str) -> None:
    assert_bad_input(monitor(f"--since={since}"), capsys, "--since")


def test_unreadable_labels(monitor, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    wrong = tmp_path / "labels.csv"
    wrong.write_text("a,b\n1,2\n")
    assert_bad_input(monitor("--labels", str(wrong)), capsys, "missing required columns")
    absent = str(tmp_path / "absent.csv")
    assert_bad_input(monitor("--labels", absent), capsys, "data file not found")


def test_an_unwritable_output_directory(
    monitor, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert_bad_input(monitor(out=blocker / "report"), capsys, "cannot write the report")


def test_parse_since() -> None:
    now = datetime(2025, 3, 10, 12, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("24h", now) == now - timedelta(hours=24)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("2w", now) == now - timedelta(weeks=2)
    assert parse_since("2025-03-01", now) == datetime(2025, 3, 1, tzinfo=UTC)
    assert parse_since("2025-03-01T06:00:00-03:00", now) == datetime(2025, 3, 1, 9, tzinfo=UTC)
    with pytest.raises(BadInputError):
        parse_since("week", now)
