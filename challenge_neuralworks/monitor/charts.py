"""The report's charts (matplotlib, Agg backend), drawn from report.json's figures only."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from challenge_neuralworks.monitor import thresholds

_REFERENCE: Final[str] = "#9aa5b1"
_CAPTURED: Final[str] = "#3a6ea5"
_ALERT: Final[str] = "#c0392b"
_DPI: Final[int] = 110


def _pyplot():  # noqa: ANN202 (matplotlib.pyplot module)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_all(report: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """Every chart the report's figures allow (a section without data draws nothing)."""
    paths = [volumes(report, out_dir)]
    if report["score"].get("psi") is not None:
        paths.append(score(report, out_dir))
    if any(f.get("psi") is not None for f in report["features"].values()):
        paths.append(feature_psi(report, out_dir))
        paths.append(categories(report, out_dir))
    quality = report.get("quality") or {}
    if quality.get("reliability"):
        paths.append(reliability(report, out_dir))
    if quality.get("weekly"):
        paths.append(weekly(report, out_dir))
    return paths


def _save(fig: Any, path: Path) -> Path:
    plt = _pyplot()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def volumes(report: Mapping[str, Any], out_dir: Path) -> Path:
    """Predictions and rejections captured per day, with the day's predicted positive rate."""
    plt = _pyplot()
    days = report["volumes"]["per_day"]
    fig, ax = plt.subplots(figsize=(7, 3.4), dpi=_DPI)
    x = range(len(days))
    ax.bar(x, [d["predictions"] for d in days], color=_CAPTURED, label="predictions")
    ax.bar(
        x,
        [d["rejections"] for d in days],
        bottom=[d["predictions"] for d in days],
        color=_ALERT,
        label="rejections",
    )
    ax.set(ylabel="captured per day", title="Volumes (UTC date of capture)")
    step = max(1, len(days) // 10)
    ax.set_xticks(list(x)[::step], [d["date"] for d in days][::step], rotation=30, fontsize=7)
    rate = ax.twinx()
    rate.plot(x, [d["positive_rate"] for d in days], color="black", lw=1, label="flagged share")
    rate.set_ylabel("share flagged")
    rate.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=7)
    return _save(fig, out_dir / "volumes.png")


def score(report: Mapping[str, Any], out_dir: Path) -> Path:
    """Score distribution per reference bin: reference (mode mix) against captured."""
    plt = _pyplot()
    section = report["score"]
    bins = section["bins"]
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=_DPI)
    x = range(len(bins))
    width = 0.4
    ax.bar(
        [i - width / 2 for i in x],
        [b["reference"] for b in bins],
        width,
        color=_REFERENCE,
        label=f"training reference ({section['source']})",
    )
    ax.bar(
        [i + width / 2 for i in x],
        [b["captured"] for b in bins],
        width,
        color=_CAPTURED,
        label="captured",
    )
    ax.set_xticks(list(x), [b["bin"] for b in bins], rotation=30, fontsize=7)
    ax.set(ylabel="share", title=f"{section['name']}: PSI {section['psi']:.3f}")
    ax.legend(fontsize=7)
    return _save(fig, out_dir / "score.png")


def feature_psi(report: Mapping[str, Any], out_dir: Path) -> Path:
    """PSI of every feature, calendar features greyed, with the alert threshold."""
    plt = _pyplot()
    features = {n: f for n, f in report["features"].items() if f.get("psi") is not None}
    names = sorted(features, key=lambda n: features[n]["psi"])
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(names) + 1.4), dpi=_DPI)
    colors = [
        _REFERENCE
        if features[n]["role"] not in thresholds.MONITORED_ROLES
        else (_ALERT if features[n]["psi"] > thresholds.FEATURE_PSI else _CAPTURED)
        for n in names
    ]
    ax.barh(names, [features[n]["psi"] for n in names], color=colors)
    ax.axvline(thresholds.FEATURE_PSI, color=_ALERT, ls="--", lw=0.8)
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set(xlabel="PSI (grey: calendar, reported only)", title="Feature drift")
    return _save(fig, out_dir / "features.png")


def categories(report: Mapping[str, Any], out_dir: Path) -> Path:
    """The most moved categories/values of each non-numeric feature."""
    plt = _pyplot()
    moved = {
        n: f["top_moved"]
        for n, f in report["features"].items()
        if f.get("top_moved") and f["role"] in thresholds.MONITORED_ROLES | {"calendar"}
    }
    fig, axes = plt.subplots(
        len(moved), 1, figsize=(7, 1.9 * max(1, len(moved))), dpi=_DPI, squeeze=False
    )
    for ax, (name, rows) in zip(axes[:, 0], moved.items(), strict=True):
        y = range(len(rows))
        ax.barh(
            [i + 0.2 for i in y],
            [r["reference"] for r in rows],
            0.4,
            color=_REFERENCE,
            label="training",
        )
        ax.barh(
            [i - 0.2 for i in y],
            [r["captured"] for r in rows],
            0.4,
            color=_CAPTURED,
            label="captured",
        )
        ax.set_yticks(list(y), [r["bin"] for r in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_title(f"{name}: most moved", fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    axes[0, 0].legend(fontsize=7)
    return _save(fig, out_dir / "categories.png")


def reliability(report: Mapping[str, Any], out_dir: Path) -> Path:
    """Realised reliability curve (equal-frequency bins)."""
    plt = _pyplot()
    points = report["quality"]["reliability"]
    fig, ax = plt.subplots(figsize=(4.6, 4.2), dpi=_DPI)
    ax.plot(
        [p["predicted"] for p in points],
        [p["observed"] for p in points],
        marker="o",
        color=_CAPTURED,
        label="captured flights",
    )
    top = max(*(p["predicted"] for p in points), *(p["observed"] for p in points))
    ax.plot([0, top], [0, top], ls="--", c="grey", lw=0.8)
    ax.set(xlabel="predicted", ylabel="observed rate", title="Realised reliability")
    ax.legend(fontsize=7)
    return _save(fig, out_dir / "reliability.png")


def weekly(report: Mapping[str, Any], out_dir: Path) -> Path:
    """Realised delay rate, mean score and flagged share per week of scheduled departure."""
    plt = _pyplot()
    weeks = report["quality"]["weekly"]
    fig, ax = plt.subplots(figsize=(7, 3.4), dpi=_DPI)
    x = range(len(weeks))
    ax.plot(
        x, [w["delay_rate"] for w in weeks], marker="o", color=_ALERT, label="realised delay rate"
    )
    if report["reference"]["score_target"] == "delayed":  # a probability: same axis
        ax.plot(
            x,
            [w["mean_score"] for w in weeks],
            marker="o",
            color=_CAPTURED,
            label="mean predicted P(delay)",
        )
    ax.plot(
        x,
        [w["predicted_positive_rate"] for w in weeks],
        marker=".",
        color="black",
        lw=0.8,
        label="flagged share",
    )
    ax.axhline(
        report["reference"]["delay_rate"],
        color=_REFERENCE,
        ls="--",
        lw=0.8,
        label="training delay rate",
    )
    ax.set_xticks(list(x), [w["week"] for w in weeks], rotation=30, fontsize=7)
    ax.set(ylabel="rate", title="Per week of scheduled departure")
    ax.legend(fontsize=7)
    return _save(fig, out_dir / "weekly.png")
