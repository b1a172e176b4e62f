# The two set-up commands (README): `make demo` and `make test`. Both install what they need.
.PHONY: install demo test bench clean

VENV := .venv
PYTEST_ARGS ?=

install:
	@bash scripts/setup.sh

demo: install
	@$(VENV)/bin/quartet reproduce --quick

test: install
	@$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

bench: install
	@$(VENV)/bin/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) runs reports build *.egg-info src/*.egg-info
