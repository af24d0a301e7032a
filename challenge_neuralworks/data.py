"""Load and validate ``dataset_SCL.csv``, and derive the training target.

A bad file must fail here, with the row and column named, rather than as a stack trace from
deep inside pandas or, worse, as a silently different model. Everything downstream (features,
training, evaluation, batch scoring) receives the frame this module returns.

Leakage rules live here too: the ``-O`` columns (what actually happened) and the columns the
file derives from them (``DIA``, ``MES``, ``AÑO``, ``DIANOM``, ``SIGLADES``) are kept only to
compute the target and the destination-city table; :func:`scheduled_view` is the only frame
feature code ever sees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # pandas is a training-time dependency only
    import pandas as pd

DEFAULT_DATA_PATH: Final[Path] = Path(__file__).resolve().parent.parent / "data" / "dataset_SCL.csv"

#: Delay threshold of the target, in minutes (actual minus scheduled departure).
DELAY_THRESHOLD_MINUTES: Final[int] = 15

SCHEDULED_COLUMNS: Final[tuple[str, ...]] = (
    "Fecha-I",
    "Vlo-I",
    "Ori-I",
    "Des-I",
    "Emp-I",
    "TIPOVUELO",
    "OPERA",
    "SIGLAORI",
)
OPERATION_COLUMNS: Final[tuple[str, ...]] = ("Fecha-O", "Vlo-O", "Ori-O", "Des-O", "Emp-O")
#: Derived by the file from the actual operation (Fecha-O / Des-O): leakage if used as features.
DERIVED_FROM_OPERATION: Final[tuple[str, ...]] = ("DIA", "MES", "AÑO", "DIANOM", "SIGLADES")
REQUIRED_COLUMNS: Final[tuple[str, ...]] = (
    SCHEDULED_COLUMNS + OPERATION_COLUMNS + DERIVED_FROM_OPERATION
)

#: ICAO codes whose city cannot be learned from the file because every flight scheduled to
#: them was diverted (so ``SIGLADES`` names the diversion airport's city).
ICAO_CITY_REFERENCE: Final[dict[str, str]] = {
    "SARI": "Puerto Iguazu",  # Cataratas del Iguazu, Argentina
    "SEQU": "Quito",  # Mariscal Sucre (old airport code)
}

#: Closed airports the data still names -> the airport that replaced them in the same city.
#: The airport database no longer lists them, so their reference facts (country, coordinates,
#: time zone) are the successor's (see :func:`challenge_neuralworks.airports.reference_airports`).
CLOSED_AIRPORTS: Final[dict[str, str]] = {
    "SEQU": "SEQM",  # Quito's Mariscal Sucre, replaced by the new airport in February 2013
}

FLIGHT_TYPES: Final[tuple[str, ...]] = ("I", "N")
_DATETIME_FORMAT: Final[str] = "%Y-%m-%d %H:%M:%S"


class DataValidationError(ValueError):
    """The data file does not match what the models were built for.

    ``row`` is the 1-based line number in the CSV file (header = line 1), ``column`` the
    offending column.
    """

    def __init__(self, message: str, *, column: str | None = None, row: int | None = None) -> None:
        where = ", ".join(
            part
            for part in (f"line {row}" if row else "", f"column {column!r}" if column else "")
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.column = column
        self.row = row


@dataclass(frozen=True)
class Flights:
    """A validated data set: the raw frame plus what validation derived from it."""

    frame: pd.DataFrame
    sha256: str
    path: Path | None

    @property
    def scheduled(self) -> pd.Series:
        """Scheduled departure (``Fecha-I``) as datetimes."""
        return self.frame["scheduled"]


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_flights(path: Path | str = DEFAULT_DATA_PATH) -> Flights:
    """Read and validate the data set; raise :class:`DataValidationError` on any defect."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"data file not found: {path}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataValidationError(f"{path} is not a readable UTF-8 CSV file: {exc}") from exc
    return Flights(frame=validate_frame(frame), sha256=file_sha256(path), path=path)


def validate_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Validate a raw string frame with the file's columns; return a typed copy.

    Adds ``scheduled`` and ``operated`` (datetimes), ``delay_minutes``, ``delayed`` (0/1, the
    target) and ``destination`` (the scheduled destination's city).
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise DataValidationError(f"missing required columns {missing}")
    if frame.empty:
        raise DataValidationError("the file has no rows")
    out = frame.copy()
    for column in REQUIRED_COLUMNS:
        if column == "Vlo-O":  # one operated flight number is missing in the real file
            continue
        _require_non_empty(out, column)
    out["scheduled"] = _parse_datetimes(out, "Fecha-I")
    out["operated"] = _parse_datetimes(out, "Fecha-O")
    _require_values(out, "TIPOVUELO", FLIGHT_TYPES)
    _require_values(out, "Ori-I", ("SCEL",))
    _require_pattern(out, "Vlo-I", r"[0-9]{1,5}[A-Z]?")
    _require_pattern(out, "Emp-I", r"[A-Z0-9]{2,3}")
    _require_pattern(out, "Des-I", r"[A-Z0-9]{4}")
    _require_function(out, "Emp-I", "OPERA")
    delay = (out["operated"] - out["scheduled"]).dt.total_seconds() / 60.0
    too_far = delay.abs() > 24 * 60
    if too_far.any():
        raise DataValidationError(
            f"actual departure {delay[too_far].iloc[0]:.0f} minutes from the scheduled one",
            column="Fecha-O",
            row=_line(out, too_far),
        )
    out["delay_minutes"] = delay
    out["delayed"] = (delay > DELAY_THRESHOLD_MINUTES).astype("int8")
    out["destination"] = out["Des-I"].map(destination_cities(out))
    return out.reset_index(drop=True)


def destination_cities(frame: pd.DataFrame) -> dict[str, str]:
    """ICAO code of the *scheduled* destination -> city name as the API spells it.

    ``SIGLADES`` follows the actual destination (``Des-O``), so the city of each scheduled
    code is learned from the flights that were not diverted; codes only ever diverted come
    from :data:`ICAO_CITY_REFERENCE`.
    """
    landed = frame[frame["Des-I"] == frame["Des-O"]]
    cities = landed.groupby("Des-I")["SIGLADES"].agg(lambda s: s.value_counts().index[0]).to_dict()
    for code in sorted(set(frame["Des-I"]) - set(cities)):
        if code not in ICAO_CITY_REFERENCE:
            raise DataValidationError(
                f"destination {code!r} has no undiverted flight and no reference city",
                column="Des-I",
                row=_line(frame, frame["Des-I"] == code),
            )
        cities[code] = ICAO_CITY_REFERENCE[code]
    return cities


def scheduled_view(flights: Flights) -> pd.DataFrame:
    """The only columns feature code may see: what is known before departure."""
    frame = flights.frame
    return frame[
        ["scheduled", "Vlo-I", "Emp-I", "OPERA", "TIPOVUELO", "Des-I", "destination"]
    ].copy()


def _line(frame: pd.DataFrame, mask: Iterable[bool]) -> int:
    """1-based CSV line number (header is line 1) of the first row where ``mask`` is true."""
    import numpy as np

    return int(np.flatnonzero(np.asarray(mask))[0]) + 2


def _require_non_empty(frame: pd.DataFrame, column: str) -> None:
    empty = frame[column].str.strip() == ""
    if empty.any():
        raise DataValidationError("empty value", column=column, row=_line(frame, empty))


def _parse_datetimes(frame: pd.DataFrame, column: str) -> pd.Series:
    import pandas as pd

    parsed = pd.to_datetime(frame[column], format=_DATETIME_FORMAT, errors="coerce")
    bad = parsed.isna()
    if bad.any():
        value = frame[column][bad].iloc[0]
        raise DataValidationError(
            f"{value!r} is not a datetime like 2017-01-01 23:30:00",
            column=column,
            row=_line(frame, bad),
        )
    return parsed


def _require_values(frame: pd.DataFrame, column: str, allowed: tuple[str, ...]) -> None:
    bad = ~frame[column].isin(allowed)
    if bad.any():
        raise DataValidationError(
            f"unknown value {frame[column][bad].iloc[0]!r}; allowed: {list(allowed)}",
            column=column,
            row=_line(frame, bad),
        )


def _require_pattern(frame: pd.DataFrame, column: str, pattern: str) -> None:
    bad = ~frame[column].str.fullmatch(pattern)
    if bad.any():
        raise DataValidationError(
            f"{frame[column][bad].iloc[0]!r} does not match {pattern}",
            column=column,
            row=_line(frame, bad),
        )


def _require_function(frame: pd.DataFrame, key: str, value: str) -> None:
    """Every ``key`` maps to one ``value`` (e.g. airline code -> airline name)."""
    counts = frame.groupby(key)[value].nunique()
    ambiguous = counts[counts > 1]
    if not ambiguous.empty:
        code = ambiguous.index[0]
        raise DataValidationError(
            f"{key} {code!r} maps to several {value} values",
            column=value,
            row=_line(frame, frame[key] == code),
        )
