"""The API's published contract: ``docs/openapi.yaml`` and ``docs/api.md``, generated.

Both files are rendered from one source, the pydantic models of the contract and real answers
of the handler serving the committed artifacts, by ``make docs``
(``python -m challenge_neuralworks.openapi --write``); ``--check`` (and a test) fails when the
committed files drift from what the generator produces. Nothing here is on the request path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

DOCS_DIR: Final[Path] = Path(__file__).resolve().parents[2] / "docs"
OPENAPI_FILE: Final[str] = "openapi.yaml"
MARKDOWN_FILE: Final[str] = "api.md"


def generate(models_dir: Path) -> dict[str, str]:
    """File name (in ``docs/``) -> exact text, for the models in ``models_dir``."""
    from challenge_neuralworks.model import discover
    from challenge_neuralworks.openapi.document import build_document
    from challenge_neuralworks.openapi.markdown import render
    from challenge_neuralworks.openapi.scenarios import run_scenarios
    from challenge_neuralworks.registry import Registry

    registry = Registry(models_dir)
    names = registry.names()
    if not names:
        raise FileNotFoundError(f"no model artifacts in {models_dir}: run `make train` first")
    classes = discover()
    models = [classes[name] for name in names]
    max_batch = max(model.max_batch for model in models)
    examples = run_scenarios(models_dir)
    document = build_document(examples, models=models, max_batch=max_batch)
    return {
        OPENAPI_FILE: to_yaml(document),
        MARKDOWN_FILE: render(document, examples, max_batch=max_batch),
    }


def to_yaml(document: dict[str, Any]) -> str:
    """Stable, readable YAML: no anchors, multi-line strings as literal blocks."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml.dump(
        document, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2
    )
