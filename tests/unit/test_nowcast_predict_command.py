"""``predict --departures FILE --lead 2h``: offline nowcasts from a file of departures."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from challenge_neuralworks.cli import main
from challenge_neuralworks.commands.predict import lead_hours, read_departures, score
from challenge_neuralworks.data import DEFAULT_DATA_PATH
from challenge_neuralworks.departures.feed import DepartureSnapshot
from challenge_neuralworks.model import Context
from challenge_neuralworks.registry import Registry

pytestmark = pytest.mark.slow


def december_rows(n: int) -> list[dict[str, str]]:
    with DEFAULT_DATA_PATH.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["Fecha-I"] >= "2017-12-10"]
    return rows[:n]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_file_is_scored_as_if_predicted_two_hours_before_each_flight(
    fast_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    rows = december_rows(120)
    source = write_csv(tmp_path / "in.csv", rows)
    target = tmp_path / "out.csv"
    args = ["predict", "--model", "delay_nowcast", "--models-dir", str(fast_models_dir)]
    args += ["--departures", str(DEFAULT_DATA_PATH), "--lead", "2h"]
    assert main([*args, "--input", str(source), "--output", str(target)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 120 and summary["rejected"] == 0
    assert summary["departures"] + summary["departures_skipped"] == 68206
    assert summary["lead_hours"] == 2.0
    with target.open(encoding="utf-8") as handle:
        scored = list(csv.DictReader(handle))
    for row in scored:
        scheduled = dt.datetime.fromisoformat(row["Fecha-I"])
        assert row["mode"] == "live"
        assert dt.datetime.fromisoformat(row["as_of"]) == scheduled - dt.timedelta(hours=2)
        assert float(row["lead_hours"]) == 2.0
    # the same numbers as the model itself, told the same departures and lead
    model = Registry(fast_models_dir).get("delay_nowcast")
    departures, _ = read_departures(DEFAULT_DATA_PATH, model)
    context = Context(lead_hours=2.0, departures=DepartureSnapshot(departures))
    expected = score(model, rows, context)
    assert [float(r["p_delay"]) for r in scored] == [e["p_delay"] for e in expected]
    six_hours = score(
        model, rows, Context(lead_hours=6.0, departures=DepartureSnapshot(departures))
    )
    assert [e["p_delay"] for e in six_hours] != [e["p_delay"] for e in expected]


def test_departures_as_api_items_and_the_bad_ones_skipped(
    fast_models_dir: Path, tmp_path: Path
) -> None:
    model = Registry(fast_models_dir).get("delay_nowcast")
    items = [
        {
            "FECHA-I": "2017-12-10 08:00",
            "FECHA-O": "2017-12-10 08:45",
            "OPERA": "Grupo LATAM",
            "VLO-I": "0140",
            "SIGLADES": "Antofagasta",
        },
        {"FECHA-I": "2017-12-10 08:00", "FECHA-O": "2017-12-12 08:45", "OPERA": "x"},
    ]
    path = tmp_path / "departures.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    departures, skipped = read_departures(path, model)
    assert skipped == 1
    assert [(d.flight_number, d.delay_minutes) for d in departures] == [("140", 45.0)]


def test_live_options_must_fit_the_model(
    fast_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    source = write_csv(tmp_path / "in.csv", december_rows(3))
    base = ["predict", "--models-dir", str(fast_models_dir), "--input", str(source)]
    base += ["--output", str(tmp_path / "out.csv")]
    departures = ["--departures", str(DEFAULT_DATA_PATH)]
    cases = [
        (["--model", "delay_nowcast", "--lead", "2h"], "go together"),
        (["--model", "delay", *departures, "--lead", "2h"], "reads no departures"),
        (["--model", "delay_nowcast", *departures, "--lead", "30h"], "between 0.5 and 24"),
        (["--model", "delay_nowcast", "--departures", "nope.csv", "--lead", "1h"], "no such file"),
    ]
    for extra, message in cases:
        assert main([*base, *extra]) == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "hours"), [("2h", 2.0), ("1.5 h", 1.5), ("30m", 0.5), ("90min", 1.5), ("6", 6.0)]
)
def test_leads_are_read_in_hours_or_minutes(text: str, hours: float) -> None:
    assert lead_hours(text) == hours


def test_a_lead_that_is_not_one_is_refused() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        lead_hours("two hours")
