"""The model card's ``delay_nowcast`` section: rendered from the evaluate report, in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from challenge_neuralworks.commands.evaluate import card_markers, write_card_section
from challenge_neuralworks.nowcast.build import EVALUATION_LEADS, card_section, lead_label


def _metrics(roc: float, pr: float) -> dict[str, Any]:
    return {shape: {"roc_auc": roc, "pr_auc": pr} for shape in ("full", "basic")}


def _report(at_2h: tuple[float, float], at_24h: tuple[float, float]) -> dict[str, Any]:
    leads = {lead_label(lead): _metrics(0.70, 0.40) for lead in EVALUATION_LEADS}
    leads["2h"], leads["24h"] = _metrics(*at_2h), _metrics(*at_24h)
    temporal = {
        "train_rows": 55768,
        "test_rows": 12438,
        "test_delay_rate": 0.2263,
        "leads": leads,
        "schedule_only": _metrics(0.681, 0.377),
        "delay": _metrics(0.684, 0.379),
    }
    return {"protocols": {"temporal": temporal}}


def test_the_section_shows_every_lead_against_delay_and_judges_the_targets() -> None:
    text = card_section(_report(at_2h=(0.731, 0.433), at_24h=(0.690, 0.385)))
    for lead in EVALUATION_LEADS:
        assert f"| {lead_label(lead)} ahead |" in text
    assert "| 2h ahead | 0.731 | 0.433 | 0.731 | 0.433 |" in text
    assert "| `delay` (no live context) | 0.684 | 0.379 | 0.684 | 0.379 |" in text
    assert "**not met**" not in text


def test_a_missed_target_is_said_so() -> None:
    text = card_section(_report(at_2h=(0.719, 0.433), at_24h=(0.683, 0.385)))
    assert "(0.719: **not met**)" in text
    assert "(0.433: met)" in text
    assert "both request shapes (**not met**)" in text  # 0.683 < delay's 0.684 at 24 h


def test_the_section_replaces_its_markers_and_nothing_else(tmp_path: Path) -> None:
    begin, end = card_markers("delay_nowcast")
    card = tmp_path / "card.md"
    card.write_text(f"# Card\n\nbefore\n\n{begin}\nold figures\n{end}\n\nafter\n")
    write_card_section(card, "delay_nowcast", "new figures\n")
    assert card.read_text() == f"# Card\n\nbefore\n\n{begin}\nnew figures\n{end}\n\nafter\n"
    write_card_section(card, "other", "appended")
    other_begin, other_end = card_markers("other")
    assert card.read_text().endswith(f"after\n\n{other_begin}\nappended\n{other_end}\n")
