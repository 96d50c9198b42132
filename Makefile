# Kokous developer commands. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export KOKOUS_DATA_DIR ?= var

.PHONY: help install run test test-timeshift test-sqlite test-postgresql check lint messages types imports migrations-check bench fmt migration clean browser-deps media-deps

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## Create .venv and install Kokous with its development tools (and Debian's PDF libraries).
	@bash scripts/install-pdf-deps.sh

run: install  ## Migrate, seed the demo if the database is empty, and serve (with the media hub) on http://127.0.0.1:8000.
	$(BIN)/kokous db upgrade
	$(BIN)/kokous demo --if-empty
	KOKOUS_MEDIA_ENABLED=$${KOKOUS_MEDIA_ENABLED:-1} $(BIN)/kokous serve --host 127.0.0.1 --port 8000

browser-deps:  ## Install Debian's Chromium for the browser tests when it is missing (needs root).
	@bash scripts/install-browser.sh

media-deps:  ## Install Debian's iproute2 and nftables for the media tests when missing (needs root).
	@bash scripts/install-media-tools.sh

# The long media tests (the soak) are `slow` and `media`; `make bench` runs them. The media tests do not
# touch the database, so the PostgreSQL pass leaves them out. Each pytest-xdist worker migrates a database of
# its own (a SQLite file; on PostgreSQL `<db>_gw0_…` next to KOKOUS_TEST_DATABASE_URL's), so both passes run
# on JOBS workers; the media and browser tests, which measure time, run after the SQLite pass one at a time.
JOBS ?= auto
PARALLEL := -n $(JOBS) -m "not media and not browser"
SERIAL   := -m "(media and not slow) or browser"

test: install browser-deps media-deps  ## Run the test suite on SQLite, then on PostgreSQL when KOKOUS_TEST_DATABASE_URL is set.
	$(BIN)/pytest -q $(PARALLEL)
	$(BIN)/pytest -q $(SERIAL)
	@if [ -n "$$KOKOUS_TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$KOKOUS_TEST_DATABASE_URL)"; \
		KOKOUS_TEST_BACKEND=postgresql $(BIN)/pytest -q $(PARALLEL); \
	fi

# The machine's clock must not matter (docs/decisions/0008): tests read time only from their clock. The whole
# suite (SQLite, no browser) runs once with the clock years ahead, on the night Helsinki's clocks fall back
# (2031-10-26), and the media tests (aiortc's and aioice's own timers and certificates) once with it.
# The night they spring forward (2027-03-28) is about local times, and Kokous code reads the machine's clock
# only through core.clock.system_clock (tests/core/test_one_clock.py); there is no database-side clock, and the
# runs set TZ=UTC, so libraries that read the time read UTC, where that night is like any other. So that
# night runs the modules that can reach the machine's clock: the ones that name system_clock or the wall
# clock, start the CLI or a process, or build an app, context, database or limiter of their own (whose clock
# defaults to the system's); not tests/scripts, whose development tools read no time. Every other test runs
# on the fixed clock of tests/conftest.py, which is the same at both dates. The list is found afresh on
# every run, so a new such module is never left out.
YEARS_AHEAD ?= 2031-10-26T00:30:00
SPRING_NIGHT ?= 2027-03-28T00:30:00
WALL_CLOCK_ENTRIES := system_clock|datetime\.now|date\.today|time\.time\(|web\.cli|subprocess|Popen|create_app\(|build_context\(|Database\(|Limiter\(|Session\(|sessionmaker
WALL_CLOCK_TESTS = $(shell grep -rlE '$(WALL_CLOCK_ENTRIES)' tests --include='test_*.py' --exclude-dir=browser --exclude-dir=media --exclude-dir=scripts | sort)
FAKETIME = TZ=UTC faketime "$$(echo $(1) | tr T ' ')" $(BIN)/pytest -q -p no:cacheprovider

test-timeshift: install media-deps  ## Run the suite (SQLite, no browser) with the machine's clock moved by faketime.
	@command -v faketime >/dev/null || { echo "faketime is missing: apt-get install faketime" >&2; exit 1; }
	@echo "== with the machine's clock at $(YEARS_AHEAD) UTC"
	$(call FAKETIME,$(YEARS_AHEAD)) $(PARALLEL)
	$(call FAKETIME,$(YEARS_AHEAD)) -m "media and not slow and not browser"
	@echo "== with the machine's clock at $(SPRING_NIGHT) UTC: the modules that can reach it"
	$(call FAKETIME,$(SPRING_NIGHT)) $(PARALLEL) $(WALL_CLOCK_TESTS)

lint: install  ## ruff, and Finnish and Swedish translations for every message.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/check_translations.py

messages: install  ## Extract the interface's texts into web/locale/*/messages.po (docs/translations.md).
	@pot=$$(mktemp) && trap 'rm -f "$$pot"' EXIT && \
		$(BIN)/pybabel --quiet extract -o "$$pot" && $(BIN)/pybabel --quiet update -i "$$pot"
	@$(BIN)/python scripts/check_translations.py || true

types: install  ## mypy --strict on the packages.
	$(BIN)/mypy

imports: install  ## The dependency rule (DESIGN.md §2).
	$(BIN)/lint-imports

migrations-check: install  ## Fail when the models and the migrations disagree.
	$(BIN)/kokous db check

check: lint types imports migrations-check test  ## Everything CI runs.

bench: install  ## Benchmarks, each next to a baseline measured in the same run.
	$(BIN)/python -m bench

fmt: install  ## Format and autofix.
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migration: install  ## New autogenerated migration: make migration m="what changed".
	$(BIN)/kokous db revision -m "$(m)"

clean:  ## Remove the virtualenv and local data.
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
