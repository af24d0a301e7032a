# challenge_neuralworks: every developer entry point.
# `make serve` and `make test` work as the first command on a fresh clone: they install what they need.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
UV_VERSION := 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export UV_PYTHON_DOWNLOADS := never
# Trust the platform's certificate store (as pip does), also where SSL_CERT_FILE is not set.
export UV_SYSTEM_CERTS := 1
export PYTHONDONTWRITEBYTECODE := 1
# scikit-learn's OpenMP threads spin at every barrier by default: on a machine whose cores are
# busy with other work a spinning thread waits for a descheduled one, and a 60-tree fit took
# 249 s instead of 2.1 s beside stress-ng (quiet: no slower). Waiting threads sleep instead.
export OMP_WAIT_POLICY ?= PASSIVE

# uv from PATH, else the one pip installs for this user on first use.
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON_BOOT) -m uv")

HOST ?= 127.0.0.1
PORT ?= 8000
SERVE_ARGS ?=

.PHONY: help
help: ## list targets
	@grep -hE '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: uv
uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON_BOOT) -m pip install --quiet "uv==$(UV_VERSION)"

$(STAMP): requirements/dev.txt pyproject.toml
	@$(MAKE) --no-print-directory uv
	@test -x $(PY) || $(UV) venv --quiet --python $(PYTHON_BOOT) $(VENV)
	$(UV) pip sync --quiet --python $(PY) --require-hashes requirements/dev.txt
	$(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation -e .
	@touch $(STAMP)

.PHONY: install
install: $(STAMP) ## create .venv/ from the hash-pinned locks

# Poetry lives in its own virtualenv: it owns the project's one resolution, poetry.lock, and exports
# the hash-pinned requirements/*.txt that the image and `make install` use.
POETRY_VENV := .venv-poetry
POETRY := $(POETRY_VENV)/bin/poetry
POETRY_STAMP := $(POETRY_VENV)/.installed
EXPORT_NOTE := \# Exported from poetry.lock by `make lock` (poetry export): do not edit.

$(POETRY_STAMP): requirements/poetry.txt
	@$(MAKE) --no-print-directory uv
	@test -x $(POETRY_VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON_BOOT) $(POETRY_VENV)
	$(UV) pip sync --quiet --python $(POETRY_VENV)/bin/python --require-hashes requirements/poetry.txt
	@touch $(POETRY_STAMP)

.PHONY: poetry-venv
poetry-venv: $(POETRY_STAMP) ## create .venv-poetry/ (Poetry and its export plugin, hash-pinned)

.PHONY: lock
lock: poetry-venv ## re-resolve poetry.lock from pyproject.toml, then export requirements/*.txt
	$(POETRY) lock
	$(MAKE) --no-print-directory export

.PHONY: export
export: poetry-venv ## requirements/runtime.txt and dev.txt from poetry.lock (hash-pinned)
	{ echo '$(EXPORT_NOTE)'; $(POETRY) export --format requirements.txt; } > requirements/runtime.txt
	{ echo '$(EXPORT_NOTE)'; $(POETRY) export --format requirements.txt --all-extras; } \
		> requirements/dev.txt

.PHONY: serve
serve: install ## run the API locally (API Gateway twin; more options: SERVE_ARGS="--workers 2")
	$(PY) -m challenge_neuralworks serve --host $(HOST) --port $(PORT) $(SERVE_ARGS)

.PHONY: lint
lint: install ## ruff (lint + format check)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# checkov lives in its own virtualenv: its pins clash with the project's (requirements/checkov.in).
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): requirements/checkov.txt
	@$(MAKE) --no-print-directory uv
	@test -x $(CHECKOV_VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON_BOOT) $(CHECKOV_VENV)
	$(UV) pip sync --quiet --python $(CHECKOV_VENV)/bin/python --require-hashes requirements/checkov.txt
	@touch $(CHECKOV_STAMP)

.PHONY: checkov-venv
checkov-venv: $(CHECKOV_STAMP) ## create .venv-checkov/ (checkov, from requirements/checkov.txt)

.PHONY: lock-checkov
lock-checkov: uv ## re-resolve requirements/checkov.txt from requirements/checkov.in (hash-pinned)
	$(UV) pip compile --quiet requirements/checkov.in --python-version 3.11 --generate-hashes \
		-o requirements/checkov.txt

.PHONY: infra-check
infra-check: install checkov-venv ## the infra tests only: static checks, terraform init/validate/test, moto e2e, deploy
	$(PY) -m pytest tests/infra -q

# The Terraform tests init from a filesystem mirror of hashicorp/aws (no registry access needed at
# test time). Where the registry is reachable, these fill the mirror and re-lock the providers.
TF_MIRROR ?= $(HOME)/.terraform.d/plugins

.PHONY: terraform-mirror
terraform-mirror: ## fill a provider mirror for the Terraform tests (needs registry access; TF_MIRROR=dir)
	terraform -chdir=infra providers mirror -platform=linux_amd64 "$(TF_MIRROR)"
	@echo "export CNW_TF_PROVIDER_MIRROR=$(TF_MIRROR)  # if it is not one of the default locations"

.PHONY: terraform-lock
terraform-lock: ## re-lock every root's providers for linux and macOS (needs registry access)
	for root in infra infra/bootstrap infra/bootstrap/tfc; do \
	  terraform -chdir=$$root providers lock -platform=linux_amd64 -platform=darwin_amd64 -platform=darwin_arm64; \
	done

.PHONY: routes
routes: install ## regenerate infra/routes.json from challenge_neuralworks/routes.py (Terraform reads it)
	$(PY) -m challenge_neuralworks.routes > infra/routes.json

CANARY ?= 10
BAKE ?= 300s

.PHONY: deploy
deploy: install ## canary rollout of IMAGE to FUNCTION (CANARY=10 BAKE=300s; SMOKE_URL optional, key in CNW_API_KEY)
	$(PY) -m challenge_neuralworks deploy --function "$(FUNCTION)" --image "$(IMAGE)" \
		--canary "$(CANARY)" --bake "$(BAKE)" $(if $(SMOKE_URL),--smoke-url "$(SMOKE_URL)")

.PHONY: test
test: install lint checkov-venv poetry-venv ## everything CI checks: lint, unit/api/runtime/infra (Terraform too) tests, notebooks
	@# exit code 5 means pytest collected nothing: that is a broken test tree, never a pass.
	$(PY) -m pytest || { rc=$$?; [ $$rc -ne 5 ] || echo "pytest collected no tests: failing on purpose"; exit $$rc; }

.PHONY: train
train: install ## retrain every registered model into models/ (then the API docs' examples)
	$(PY) -m challenge_neuralworks train --all
	@# docs/api.md's examples are real answers of the committed artifacts: keep them in step.
	$(PY) -m challenge_neuralworks.openapi --write

.PHONY: evaluate
evaluate: install ## both protocols' metrics and charts into docs/evaluation/<model>/
	$(PY) -m challenge_neuralworks evaluate --all

.PHONY: monitoring-report
monitoring-report: install ## docs/monitoring/: train Jan-Oct, capture Nov-Dec through the twin, monitor
	$(PY) -m challenge_neuralworks.monitor.backtest

.PHONY: docs
docs: install ## regenerate docs/openapi.yaml and docs/api.md (after `make train` too)
	$(PY) -m challenge_neuralworks.openapi --write

.PHONY: bench
bench: install ## in-process latency, throughput, cold start and memory figures
	$(PY) -m stress_test.bench

# wrk is a Debian package, not a Python one: install it on first use (root or sudo).
.PHONY: wrk
wrk: ## install wrk with apt-get when it is missing (make stress needs it)
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "wrk is not installed: installing it with apt-get (Debian/Ubuntu)"; \
	  command -v apt-get >/dev/null 2>&1 || { \
	    echo "no apt-get on this machine: install wrk with its package manager (e.g. brew install wrk)"; \
	    exit 2; }; \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends wrk; }

# The challenge's test measures the service's capacity: the handler runs inside the twin's
# workers, not in the emulated execution environment whose cost docs/local.md measures apart.
STRESS_ARGS ?= --in-process

.PHONY: stress
stress: install wrk ## the challenge's wrk test: 45 s on the local twin, no failed request, >= 50,000 requests
	$(PY) -m stress_test.run $(STRESS_ARGS)

.PHONY: stress-locust
stress-locust: install ## locust suite (mixed realistic traffic) on the local twin, CSV + HTML reports
	$(PY) -m stress_test.locust_run

.PHONY: stress-experiments
stress-experiments: install wrk ## shorter wrk runs behind the report: workers, batches, twin ceiling
	$(PY) -m stress_test.experiments

.PHONY: stress-report
stress-report: install ## regenerate docs/stress_test.md and its charts from stress_test/results/
	$(PY) -m stress_test.report

.PHONY: clean
clean: ## remove environments and caches
	rm -rf $(VENV) .venv-* .pytest_cache .ruff_cache .hypothesis reports
