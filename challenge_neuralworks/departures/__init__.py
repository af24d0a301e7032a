"""Reported actual departures from SCL: the live context of models that nowcast.

An operations feed reports each departure once it has happened (``POST /departures``); models
that declare a ``departures_window`` (``delay_nowcast``) read the recent ones through the
handler. The pieces, one module each:

* :mod:`.records`: the :class:`~.records.Departure` record, SCL's local time, the retention, and
  :class:`~.records.DepartureStore`, the one small interface both backends implement (idempotent
  writes keyed on airline, flight number and scheduled time; reads by actual-time range);
* :mod:`.sqlite`: an embedded SQLite file (locally, the default of ``make serve``);
* :mod:`.dynamodb`: a DynamoDB table (in AWS; boto3 is imported on first use only, so a function
  that never touches departures never pays for it);
* :mod:`.feed`: what a request sees, a :class:`~.feed.DepartureSnapshot` of the recent window,
  read from the store at most once per request and shared by requests for a few seconds.

Times are SCL local wall-clock time (America/Santiago), naive, exactly like the data set's
``Fecha-I``/``Fecha-O`` and the API's ``FECHA-I``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from challenge_neuralworks import environment
from challenge_neuralworks.departures.records import DepartureStore

#: ``make serve``'s store when no DynamoDB table is configured: a SQLite file in ``.data/``
#: next to the package (ignored by git).
DEFAULT_DEPARTURES_DB: Final[Path] = (
    environment.DEFAULT_MODELS_DIR.parent / ".data" / "departures.sqlite"
)


def store_from_environment(environ: Mapping[str, str] | None = None) -> DepartureStore:
    """The DynamoDB table ``$CNW_DEPARTURES_TABLE`` when set (AWS), else the SQLite file
    ``$CNW_DEPARTURES_DB`` (default :data:`DEFAULT_DEPARTURES_DB`). Nothing is opened or
    imported until the store is first used."""
    table = environment.get(environment.DEPARTURES_TABLE, environ)
    if table:
        from challenge_neuralworks.departures.dynamodb import DynamoDBDepartureStore

        return DynamoDBDepartureStore(table)
    from challenge_neuralworks.departures.sqlite import SQLiteDepartureStore

    path = environment.get(environment.DEPARTURES_DB, environ)
    return SQLiteDepartureStore(Path(path) if path else DEFAULT_DEPARTURES_DB)
