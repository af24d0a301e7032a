"""``predict``: batch scoring of a file with the same model class and validation the API uses.

    python -m challenge_neuralworks predict --model delay --input flights.csv --output scored.csv

Input is either a CSV with ``dataset_SCL.csv``'s columns (``Fecha-I``, ``OPERA``, ``TIPOVUELO``,
``Des-I`` or ``SIGLADES``, optionally ``Vlo-I``) or JSON lines with the API's request fields.
The output keeps every input row and adds the model's columns (for ``delay``: ``p_delay`` and
the 0/1 ``delayed`` decision); a row the API would reject keeps empty predictions and the error
in ``error``, so one bad row does not sink a file.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from challenge_neuralworks.environment import DEFAULT_MODELS_DIR
from challenge_neuralworks.errors import InputError
from challenge_neuralworks.model import Model
from challenge_neuralworks.registry import ModelNotFoundError, ModelUnavailableError, Registry

CHUNK = 2000


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of the predict command."""
    parser.add_argument("--model", required=True)
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--input", type=Path, required=True, help=".csv or .jsonl")
    parser.add_argument("--output", type=Path, required=True, help=".csv or .jsonl")


def run(args: argparse.Namespace) -> int:
    """Score the input file into the output file."""
    try:
        model = Registry(args.models_dir).get(args.model)
    except (ModelNotFoundError, ModelUnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.input.is_file():
        print(f"error: no such file {args.input}", file=sys.stderr)
        return 2
    rows = list(_read(args.input))
    scored = score(model, rows)
    _write(args.output, scored)
    failed = sum(1 for row in scored if row.get("error"))
    print(
        json.dumps(
            {"model": model.name, "version": model.version, "rows": len(rows), "rejected": failed}
        ),
    )
    return 0


def score(model: Model, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row plus the model's columns (or an ``error``), in order."""
    parsed: list[Any] = []
    errors: list[str | None] = []
    for number, row in enumerate(rows, start=1):
        try:
            parsed.append(model.parse(request_item(model, row)))
            errors.append(None)
        except InputError as exc:
            parsed.append(None)
            field = f" ({exc.field})" if exc.field else ""
            errors.append(f"row {number}{field}: {exc.message}")
    valid = [i for i, item in enumerate(parsed) if item is not None]
    columns: dict[int, dict[str, Any]] = {}
    for start in range(0, len(valid), CHUNK):
        positions = valid[start : start + CHUNK]
        results = model.predict([parsed[i] for i in positions])
        for position, result in zip(positions, results, strict=True):
            columns[position] = model.tabular(result)
    names = next(iter(columns.values())).keys() if columns else []
    out = []
    for i, row in enumerate(rows):
        extra = columns.get(i, dict.fromkeys(names, ""))
        out.append({**row, **extra, "error": errors[i] or ""})
    return out


def request_item(model: Model, row: dict[str, Any]) -> dict[str, Any]:
    """A request item from a row: API fields as they are, data-file rows translated."""
    if "Fecha-I" not in row:
        return row
    destination = row.get("SIGLADES", "")
    cities = getattr(model, "destination_cities", {})
    if row.get("Des-I") in cities:  # the scheduled destination, not the actual one
        destination = cities[row["Des-I"]]
    request = {
        "FECHA-I": row["Fecha-I"],
        "OPERA": row.get("OPERA", ""),
        "TIPOVUELO": row.get("TIPOVUELO", ""),
        "SIGLADES": destination,
    }
    if row.get("Vlo-I"):
        request["VLO-I"] = str(row["Vlo-I"]).strip()
    return request


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
