# The two commands of the README are `make demo` and `make test`; the rest are their parts.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
PYTHON ?= python3
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: test check fmt-check clippy unit venv clean

## Every check: formatting, lints, and all tests.
test: fmt-check clippy unit

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets --locked -- -D warnings

unit:
	cargo test --workspace --locked

## The project-local Python tools (cargo-lambda, pinned in tools/requirements.txt).
venv: $(VENV)/.installed

$(VENV)/.installed: tools/requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	touch $@

clean:
	cargo clean
	rm -rf $(VENV)
