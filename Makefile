# The two front-door commands: `make demo` and `make test`. Both set up everything first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test install lint bench clean

demo: $(VENV)/.installed
	$(BIN)/saywho transcribe examples/interview.wav -o demo-out -f txt,srt,vtt,json,tsv
	@echo; echo "--- demo-out/interview.srt ---"; cat demo-out/interview.srt

test: $(VENV)/.installed-dev espeak-ng chromium
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

# The tests synthesise their own speech with eSpeak NG (Debian package espeak-ng).
# scripts/apt-install.sh waits (at most APT_LOCK_WAIT_S, default 300 s) while another apt runs.
espeak-ng:
	@command -v espeak-ng >/dev/null || { \
	  echo "installing espeak-ng (Debian package) for the tests' synthetic speech"; \
	  scripts/apt-install.sh espeak-ng; }

# The review page is tested in Debian's Chromium, driven by Playwright (never a downloaded browser).
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || { \
	  echo "installing chromium (Debian package) for the review page's browser tests"; \
	  scripts/apt-install.sh chromium; }

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/asr.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache
