"""``predict``: batch scoring of a file with the same model class and validation the API uses.

    python -m challenge_neuralworks predict --model delay --input flights.csv --output scored.csv
    python -m challenge_neuralworks predict --model delay_nowcast \
        --departures data/dataset_SCL.csv --lead 2h --input flights.csv --output scored.csv

Input is either a CSV with ``dataset_SCL.csv``'s columns (``Fecha-I``, ``OPERA``, ``TIPOVUELO``,
``Des-I`` or ``SIGLADES``, optionally ``Vlo-I``) or JSON lines with the API's request fields.
A data-file row is sent as the API request of its *scheduled* flight: ``Des-I`` as the airport
code ``DES-I`` (``SIGLADES`` names the actual destination, which differs for diverted flights),
``SIGLADES`` only when the file has no ``Des-I``.
The output keeps every input row and adds the model's columns (for ``delay``: ``p_delay``, the
0/1 ``delayed`` decision and the ``warnings`` codes); a row the API would reject keeps empty
predictions and the error in ``error``, so one bad row does not sink a file.

A model that reads live departures (``delay_nowcast``) scores each flight as if it were
predicted ``--lead`` before its scheduled time, from the departures in ``--departures`` whose
actual time is at or before that moment: a CSV with the data set's columns (``Fecha-I``,
``Fecha-O``, ``OPERA``, ``Vlo-I``, ``Des-I`` or ``SIGLADES``; the data file itself works) or JSON
lines of ``POST /departures`` items. Departures the API would refuse are skipped and counted.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from challenge_neuralworks.departures.feed import DepartureSnapshot
from challenge_neuralworks.departures.records import Departure
from challenge_neuralworks.environment import DEFAULT_MODELS_DIR
from challenge_neuralworks.errors import InputError
from challenge_neuralworks.model import Context, Model
from challenge_neuralworks.registry import ModelNotFoundError, ModelUnavailableError, Registry
from challenge_neuralworks.schemas import DepartureReport, resolve_departure, validate_item

CHUNK = 2000
_LEAD = re.compile(r"^(\d+(?:\.\d+)?)\s*(h|hours?|m|min|minutes?)?$")


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of the predict command."""
    parser.add_argument("--model", required=True)
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--input", type=Path, required=True, help=".csv or .jsonl")
    parser.add_argument("--output", type=Path, required=True, help=".csv or .jsonl")
    parser.add_argument(
        "--departures",
        type=Path,
        help="reported departures (.csv like the data set, or .jsonl of POST /departures "
        "items) for models that read them",
    )
    parser.add_argument(
        "--lead",
        type=lead_hours,
        help="with --departures: predict each flight this long before its scheduled time "
        "(e.g. 2h, 30m, 1.5h)",
    )


def lead_hours(text: str) -> float:
    """``2h``, ``1.5h``, ``30m``, ``90min`` or a bare number of hours, in hours."""
    match = _LEAD.fullmatch(text.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a lead like 2h, 1.5h or 30m")
    value = float(match.group(1))
    return value / 60.0 if (match.group(2) or "h").startswith("m") else value


def run(args: argparse.Namespace) -> int:
    """Score the input file into the output file."""
    try:
        model = Registry(args.models_dir).get(args.model)
    except (ModelNotFoundError, ModelUnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in (args.input, args.departures):
        if path is not None and not path.is_file():
            print(f"error: no such file {path}", file=sys.stderr)
            return 2
    problem = _live_options_problem(model, args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    summary: dict[str, Any] = {"model": model.name, "version": model.version}
    context = None
    if args.departures is not None:
        departures, skipped = read_departures(args.departures, model)
        context = Context(lead_hours=args.lead, departures=DepartureSnapshot(departures))
        summary |= {"departures": len(departures), "departures_skipped": skipped}
        summary["lead_hours"] = args.lead
    rows = list(_read(args.input))
    scored = score(model, rows, context)
    _write(args.output, scored)
    failed = sum(1 for row in scored if row.get("error"))
    print(json.dumps({**summary, "rows": len(rows), "rejected": failed}))
    return 0


def _live_options_problem(model: Model, args: argparse.Namespace) -> str | None:
    """Why ``--departures``/``--lead`` do not fit this model (``None``: they do)."""
    if (args.departures is None) != (args.lead is None):
        return "--departures and --lead go together"
    if args.departures is None:
        return None
    if not model.departures_lookback:
        return f"model {model.name} reads no departures; drop --departures and --lead"
    low, high = model.min_lead_hours, model.max_lead_hours  # type: ignore[attr-defined]
    if not low <= args.lead <= high:
        return f"--lead must be between {low:g} and {high:g} hours for {model.name}"
    return None


def read_departures(path: Path, model: Model) -> tuple[tuple[Departure, ...], int]:
    """The departures of a file, validated like ``POST /departures`` items (without the "not
    in the future" check: a file is history); returns them and how many were skipped."""
    departures = []
    skipped = 0
    for row in _read(path):
        try:
            report = validate_item(DepartureReport, _report(model, row))
            departures.append(resolve_departure(report, now=None))
        except InputError:
            skipped += 1
    return tuple(departures), skipped


def _report(model: Model, row: dict[str, Any]) -> dict[str, Any]:
    """A ``POST /departures`` item from a row: API fields as they are, data-file rows
    translated (the scheduled destination's city, not the actual one)."""
    if "Fecha-O" not in row:
        return row
    return {
        "FECHA-I": row.get("Fecha-I", ""),
        "FECHA-O": row["Fecha-O"],
        "OPERA": row.get("OPERA", ""),
        "VLO-I": str(row.get("Vlo-I", "")).strip(),
        "SIGLADES": _scheduled_city(model, row),
    }


def score(
    model: Model, rows: list[dict[str, Any]], context: Context | None = None
) -> list[dict[str, Any]]:
    """Each row plus the model's columns (or an ``error``), in order."""
    parsed: list[Any] = []
    errors: list[str | None] = []
    for number, row in enumerate(rows, start=1):
        try:
            parsed.append(model.parse(request_item(row), "", context))
            errors.append(None)
        except InputError as exc:
            parsed.append(None)
            field = f" ({exc.field})" if exc.field else ""
            errors.append(f"row {number}{field}: {exc.message}")
    valid = [i for i, item in enumerate(parsed) if item is not None]
    columns: dict[int, dict[str, Any]] = {}
    for start in range(0, len(valid), CHUNK):
        positions = valid[start : start + CHUNK]
        results = model.predict([parsed[i] for i in positions], context)
        for position, result in zip(positions, results, strict=True):
            columns[position] = model.tabular(result)
    names = next(iter(columns.values())).keys() if columns else []
    out = []
    for i, row in enumerate(rows):
        extra = columns.get(i, dict.fromkeys(names, ""))
        out.append({**row, **extra, "error": errors[i] or ""})
    return out


def request_item(row: dict[str, Any]) -> dict[str, Any]:
    """A request item from a row: API fields as they are, data-file rows translated."""
    if "Fecha-I" not in row:
        return row
    request = {
        "FECHA-I": row["Fecha-I"],
        "OPERA": row.get("OPERA", ""),
        "TIPOVUELO": row.get("TIPOVUELO", ""),
    }
    if row.get("Des-I"):  # the scheduled destination, not the actual one
        request["DES-I"] = row["Des-I"]
    else:
        request["SIGLADES"] = row.get("SIGLADES", "")
    if row.get("Vlo-I"):
        request["VLO-I"] = str(row["Vlo-I"]).strip()
    return request


def _scheduled_city(model: Model, row: dict[str, Any]) -> str:
    """The city of the scheduled destination (``Des-I``; ``SIGLADES`` follows the actual one)."""
    cities = getattr(model, "destination_cities", {})
    return cities.get(row.get("Des-I"), row.get("SIGLADES", ""))


def _read(path: Path) -> Iterator[dict[str, Any]]:
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)
        return
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    fields: list[str] = []
    for row in rows:
        fields.extend(key for key in row if key not in fields)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
