"""Evaluation charts for the model card (matplotlib, Agg backend, training-time only)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from challenge_neuralworks.delay.evaluate import ProtocolResult


def _pyplot():  # noqa: ANN202 (matplotlib.pyplot module)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def roc_and_pr(results: dict[str, ProtocolResult], out_dir: Path) -> list[Path]:
    """ROC and precision-recall curves of both protocols (basic requests)."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    plt = _pyplot()
    paths = []
    for kind in ("roc", "pr"):
        fig, ax = plt.subplots(figsize=(5, 4.2), dpi=110)
        for name, result in results.items():
            y, p = result.test_labels, result.probabilities["basic"]
            metrics = result.metrics["basic"]
            if kind == "roc":
                fpr, tpr, _ = roc_curve(y, p)
                ax.plot(fpr, tpr, label=f"{name} (AUC {metrics['roc_auc']:.3f})")
            else:
                precision, recall, _ = precision_recall_curve(y, p)
                ax.plot(recall, precision, label=f"{name} (AP {metrics['pr_auc']:.3f})")
        if kind == "roc":
            ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
            ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
        else:
            ax.set(
                xlabel="recall (delayed)", ylabel="precision (delayed)", title="Precision-recall"
            )
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        path = out_dir / f"{kind}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def calibration(results: dict[str, ProtocolResult], out_dir: Path, bins: int = 10) -> Path:
    """Reliability diagram: mean predicted vs observed delay rate per probability decile."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.2), dpi=110)
    for name, result in results.items():
        y, p = result.test_labels, result.probabilities["basic"]
        edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
        which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
        mean_p = [p[which == b].mean() for b in range(len(edges) - 1) if np.any(which == b)]
        rate = [y[which == b].mean() for b in range(len(edges) - 1) if np.any(which == b)]
        ax.plot(
            mean_p, rate, marker="o", label=f"{name} (Brier {result.metrics['basic']['brier']:.3f})"
        )
    ax.plot([0, 0.7], [0, 0.7], ls="--", c="grey", lw=0.8)
    ax.set(xlabel="predicted P(delay)", ylabel="observed delay rate", title="Calibration (deciles)")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    path = out_dir / "calibration.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def importance(
    drops: dict[str, float],
    out_dir: Path,
    title: str,
    *,
    xlabel: str = "drop in ROC-AUC when shuffled",
    name: str = "importance.png",
) -> Path:
    """Horizontal bars of an importance per feature (by default permutation importance: the
    drop in ROC-AUC), largest on top."""
    plt = _pyplot()
    names = list(drops)[::-1]
    fig, ax = plt.subplots(figsize=(5.5, 4.2), dpi=110)
    ax.barh(names, [drops[n] for n in names], color="#3a6ea5")
    ax.set(xlabel=xlabel, title=title)
    fig.tight_layout()
    path = out_dir / name
    fig.savefig(path)
    plt.close(fig)
    return path
