# Quickstart: `make run` runs the shop, `make test` runs the whole test suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/shop

.PHONY: run test test-postgres bench lint format messages demo clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(PY) manage.py runshop

test: $(VENV)/.installed
	$(PY) -m pytest

# The same suite on PostgreSQL (the production database).
test-postgres: $(VENV)/.installed
	DATABASE_URL=$(POSTGRES_URL) $(PY) -m pytest

# Speed and memory figures (a script, not a test): see "Performance" in the README.
bench: $(VENV)/.installed
	$(PY) bench/run.py

# ruff, and the architecture: layers back office -> bot -> shop, no Telegram library in shop, no import
# circles (contracts in .importlinter; a broken one names the import).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

demo: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo

# Needs GNU gettext (apt-get install gettext); the compiled .mo files are committed.
messages: $(VENV)/.installed
	cd shop && ../$(PY) ../manage.py makemessages -l ru --no-obsolete --ignore 'support/*'
	cd shop/support && ../../$(PY) ../../manage.py makemessages -l ru --no-obsolete
	cd botapp && ../$(PY) ../manage.py makemessages -l ru --no-obsolete
	cd backoffice && ../$(PY) ../manage.py makemessages -l ru --no-obsolete
	$(PY) manage.py compilemessages --ignore .venv

clean:
	rm -rf $(VENV)
