"""The nowcast's trainer: a data set in, a servable ``delay_nowcast`` with its manifest out.

Training-time only. Evaluation follows the temporal protocol of the delay family (train on
flights scheduled up to 2017-10-31, test on November-December) at fixed leads: each test flight
is predicted ``L`` hours before its scheduled time from the departures whose actual time is at
or before that moment (the whole file is the feed; nothing later is visible), for both request
shapes, next to the schedule-only answer on the same rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from challenge_neuralworks.delay.build import (
    common_metadata,
    model_version,
    reference_data,
    restrict,
)
from challenge_neuralworks.delay.evaluate import (
    classification_metrics,
    evaluate_classifier,
    protocol_splits,
)
from challenge_neuralworks.delay.features import columns_from_frame
from challenge_neuralworks.delay.train import blank_optional
from challenge_neuralworks.model import Trainer
from challenge_neuralworks.nowcast.model import NowcastClassifier
from challenge_neuralworks.nowcast.train import (
    FAST_NOWCAST_CONFIG,
    FittedNowcast,
    NowcastConfig,
    departure_log,
    fit_nowcast,
)
from challenge_neuralworks.tables import markdown_table

if TYPE_CHECKING:
    import pandas as pd

    from challenge_neuralworks.data import Flights

#: The leads (hours before the scheduled departure) every evaluation reports.
EVALUATION_LEADS: Final[tuple[float, ...]] = (0.5, 1.0, 2.0, 6.0, 24.0)
#: Issue 12's targets on the temporal protocol: at 2 h ahead, and at 24 h against ``delay``.
TARGET_LEAD: Final[float] = 2.0
TARGETS: Final[dict[str, float]] = {"roc_auc": 0.72, "pr_auc": 0.42}


def icao_cities(frame: pd.DataFrame) -> dict[str, str]:
    """ICAO code of the scheduled destination -> city as the data spells it (``SIGLADES``), for
    departures read from a data file (``predict --departures``), whose ``SIGLADES`` follows the
    actual destination."""
    return {
        str(k): str(v) for k, v in sorted(frame.groupby("Des-I")["destination"].first().items())
    }


def lead_label(hours: float) -> str:
    """``0.5h``, ``2h``: the key of one lead in the metrics."""
    return f"{hours:g}h"


def evaluate_nowcast(
    data: Flights,
    config: NowcastConfig,
    *,
    leads: tuple[float, ...] = EVALUATION_LEADS,
    fitted: FittedNowcast | None = None,
    compare_delay: bool = False,
) -> dict[str, Any]:
    """The temporal protocol's metrics at each lead and for the schedule-only answer.

    ``fitted`` (a model fitted on the protocol's train side, e.g. by a notebook) skips the fit.
    ``compare_delay`` adds ``delay`` itself (its recipe, ``config.schedule``, calibrated, fitted
    on the same train side) scored on the same test flights.
    """
    from challenge_neuralworks.data import scheduled_view

    frame = data.frame
    split = protocol_splits(frame)["temporal"]
    columns = columns_from_frame(scheduled_view(data))
    delayed = frame["delayed"].to_numpy(np.int64)
    train, test = columns.take(split.train), columns.take(split.test)
    if fitted is None:
        train_log = departure_log(frame.iloc[split.train])
        fitted = fit_nowcast(train, delayed[split.train], train_log, config)
    feed = departure_log(frame)
    labels = delayed[split.test]
    rate = float(delayed[split.train].mean())
    shapes = {"full": test, "basic": blank_optional(test)}

    def metrics(probability: np.ndarray, threshold: float) -> dict[str, float]:
        return classification_metrics(labels, probability, threshold, rate)

    report: dict[str, Any] = {
        "train_rows": len(split.train),
        "test_rows": len(split.test),
        "train_delay_rate": rate,
        "test_delay_rate": float(labels.mean()),
        "leads": {
            lead_label(lead): {
                shape: metrics(fitted.predict_proba(flights, feed, lead), fitted.threshold)
                for shape, flights in shapes.items()
            }
            for lead in leads
        },
        "schedule_only": {
            shape: metrics(fitted.schedule_proba(flights), fitted.schedule_threshold)
            for shape, flights in shapes.items()
        },
    }
    if compare_delay:
        delay = evaluate_classifier(data, config.schedule, protocols=("temporal",))["temporal"]
        report["delay"] = {shape: delay.metrics[shape] for shape in shapes}
    return report


def card_section(report: dict[str, Any]) -> str:
    """``docs/model_card.md``'s ``delay_nowcast`` section from :meth:`NowcastTrainer.evaluate`'s
    report: ROC-AUC and PR-AUC at each lead next to ``delay``'s, and the issue's targets."""
    temporal = report["protocols"]["temporal"]
    delay = temporal.get("delay", temporal["schedule_only"])
    reference = "`delay`" if "delay" in temporal else "schedule-only"

    def figures(metrics: dict[str, Any]) -> list[str]:
        return [f"{metrics[shape][name]:.3f}" for shape in ("full", "basic") for name in TARGETS]

    rows = [[f"{label} ahead", *figures(m)] for label, m in temporal["leads"].items()]
    rows.append([f"{reference} (no live context)", *figures(delay)])
    rows.append(["schedule-only answer", *figures(temporal["schedule_only"])])
    table = markdown_table(
        ["prediction", "ROC-AUC full", "PR-AUC full", "ROC-AUC basic", "PR-AUC basic"],
        rows,
        align="lrrrr",
    )
    at_target = temporal["leads"][lead_label(TARGET_LEAD)]["full"]
    at_day = temporal["leads"][lead_label(max(EVALUATION_LEADS))]
    met = {name: at_target[name] >= floor for name, floor in TARGETS.items()}
    day_ok = all(at_day[s][n] >= delay[s][n] for s in ("full", "basic") for n in TARGETS)

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    return "\n".join(
        [
            "## `delay_nowcast`: the nowcast at each lead",
            "",
            "Temporal protocol: trained on flights scheduled January–October 2017 "
            f"({temporal['train_rows']:,} rows), tested on November–December "
            f"({temporal['test_rows']:,} flights, {temporal['test_delay_rate']:.1%} delayed). "
            "Each test flight is predicted *L* hours before its scheduled time from the "
            "departures whose actual time is at or before that moment (the data file is the "
            "feed). *full*: requests with `FECHA-I` minute and `VLO-I`; *basic*: without them. "
            f"The {reference} row is {reference} fitted on the same training side and scored on "
            "the same flights; the schedule-only row is the nowcast's own answer when it has no "
            "live context.",
            "",
            table,
            "",
            f"Targets (issue 12): at {TARGET_LEAD:g} h ahead ROC-AUC ≥ {TARGETS['roc_auc']} "
            f"({at_target['roc_auc']:.3f}: {verdict(met['roc_auc'])}) and PR-AUC ≥ "
            f"{TARGETS['pr_auc']} ({at_target['pr_auc']:.3f}: {verdict(met['pr_auc'])}); at "
            f"{max(EVALUATION_LEADS):g} h no worse than {reference} on both metrics and both "
            f"request shapes ({verdict(day_ok)}).",
            "",
            "Written by `python -m challenge_neuralworks evaluate --model delay_nowcast` "
            "(also `docs/evaluation/delay_nowcast/metrics.json`).",
        ]
    )


def build_nowcast(
    data: Flights,
    *,
    train_until: str | None = None,
    config: NowcastConfig | None = None,
    evaluate: bool = True,
) -> NowcastClassifier:
    """Fit ``delay_nowcast`` on ``data`` (up to ``train_until``); its metrics come from the
    temporal protocol run with the same config on the full file."""
    from challenge_neuralworks.data import scheduled_view

    config = config or NowcastConfig()
    train_data = restrict(data, train_until)
    frame = train_data.frame
    fitted = fit_nowcast(
        columns_from_frame(scheduled_view(train_data)),
        frame["delayed"].to_numpy(np.int64),
        departure_log(frame),
        config,
    )
    config_dict = config.as_dict()
    model = NowcastClassifier(
        encoder=fitted.encoder,
        schedule=fitted.schedule,
        schedule_threshold=fitted.schedule_threshold,
        live=fitted.live,
        ensemble=fitted.ensemble,
        threshold=fitted.threshold,
        min_lead_hours=config.min_lead_hours,
        max_lead_hours=config.max_lead_hours,
        destination_cities=icao_cities(frame),
        version=model_version(NowcastClassifier.name, train_data, config_dict),
        metadata={
            **common_metadata(train_data, data, config_dict),
            "features": list(fitted.encoder.features),
            "reference_data": reference_data(fitted.encoder),
            "live_features": list(fitted.live.features),
            "departures_lookback_hours": fitted.live.lookback / 3600,
            "target": "departure delay (Fecha-O - Fecha-I) > 15 minutes",
            "threshold": fitted.threshold,
            "schedule_threshold": fitted.schedule_threshold,
            "threshold_rule": config.threshold_rule,
            "trees": fitted.ensemble.n_trees,
            "metrics": {"temporal": evaluate_nowcast(data, config)} if evaluate else {},
            "protocols": ["temporal"] if evaluate else [],
        },
    )
    model.metadata["allowed_values"] = model.allowed_values()
    return model


class NowcastTrainer(Trainer):
    """Trains and evaluates ``delay_nowcast`` (:class:`NowcastClassifier`)."""

    model = NowcastClassifier

    def default_config(self) -> NowcastConfig:
        """The adopted recipe (notebooks/02_improvements.ipynb, last section)."""
        return NowcastConfig()

    def fast_config(self) -> NowcastConfig:
        """Fewer, shallower trees, two folds."""
        return FAST_NOWCAST_CONFIG

    def fit(
        self,
        data: Flights,
        *,
        config: NowcastConfig | None = None,
        train_until: str | None = None,
        evaluate: bool = True,
    ) -> NowcastClassifier:
        """See :func:`build_nowcast`."""
        return build_nowcast(data, train_until=train_until, config=config, evaluate=evaluate)

    def evaluate(
        self, data: Flights, *, config: NowcastConfig | None = None, out_dir: Path | None = None
    ) -> dict[str, Any]:
        """The temporal protocol at every lead (no charts)."""
        config = config or self.default_config()
        return {
            "model": self.model.name,
            "config": config.as_dict(),
            "protocols": {"temporal": evaluate_nowcast(data, config, compare_delay=True)},
        }

    def card_section(self, report: dict[str, Any]) -> str:
        """See :func:`card_section`."""
        return card_section(report)
