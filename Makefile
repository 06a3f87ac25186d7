# Two commands are the whole set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATA ?= data/demo
PORT ?= 8501

.PHONY: run test lint venv venv-test chromium java demo clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: $(VENV)/bin/activate pyproject.toml
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/bin/activate pyproject.toml
	$(PY) -m pip install -q -e '.[test,spark]'
	touch $@ $(VENV)/.installed

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test

# Debian's chromium for the browser tests; `playwright install` cannot download here.
# A CJK font so screenshots of the Chinese interface are legible.
chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/wqy ]; then \
		echo "installing Debian chromium (and a CJK font) for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei; \
	fi

# A Java runtime for the Spark conformance tests (pyspark runs a local JVM); only when none is found.
java:
	@if ! command -v java >/dev/null 2>&1; then \
		echo "installing Debian's openjdk-17-jre-headless for the Spark tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; \
	fi

$(DATA)/users.parquet: | $(VENV)/.installed
	$(VENV)/bin/adesk demo --out $(DATA)

demo: $(DATA)/users.parquet

run: venv demo
	$(VENV)/bin/adesk serve --data $(DATA) --port $(PORT)

lint: venv-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: venv-test chromium java
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -n 2 --dist loadgroup

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
