# The README's two commands are `make demo` and `make test`; the other targets are their parts.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
PYTHON ?= python3
DEMO_PORT ?= 4599
DEMO_PAGE_PORT ?= 4600
DEMO_FLOW ?= password,email-otp
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0

.PHONY: test demo demo-down fmt-check clippy unit web-test template-lint e2e rust-arm64 bench fuzz load smoke venv web chromium clean

## Every check: formatting, lints, unit/property/loop tests, template lints, end-to-end.
test: fmt-check clippy unit web-test template-lint e2e

## A whole sign-in on a local AWS: build, deploy template.yaml, serve the sign-in page, sign the
## demo user in with the CLI.
demo: venv web
	$(VENV)/bin/python tools/local_aws.py demo --port $(DEMO_PORT) --page-port $(DEMO_PAGE_PORT) --flow "$(DEMO_FLOW)"

## Stop the local AWS and the sign-in page that `make demo` started.
demo-down:
	@if [ -x $(VENV)/bin/python ]; then $(VENV)/bin/python tools/local_aws.py down --port $(DEMO_PORT); fi

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets --locked -- -D warnings

unit:
	cargo test --workspace --exclude e2e --locked

## The sign-in page's own unit tests (what it says for each challenge and error), on Node.
web-test: web/node_modules/.installed
	cd web && node --test --test-reporter=spec src/

## cfn-lint with its informational rules (deletion policies of stateful resources), SAM's own
## lint, tools/template_check.py (the transformed template for every parameter set a user may
## deploy: policies with statements, the tier, the key policy, names, SES sender, ...), and
## checkov, the policy scanner, with the skips tools/checkov.yaml gives a reason for.
template-lint: venv
	$(VENV)/bin/cfn-lint --include-checks I -- template.yaml
	$(VENV)/bin/sam validate --lint --region us-east-1
	AWS_DEFAULT_REGION=us-east-1 $(VENV)/bin/python tools/template_check.py
	$(VENV)/checkov/bin/checkov --config-file tools/checkov.yaml -f template.yaml

## Deploys template.yaml into a fresh ministack on a free loopback port and signs in, through the
## CLI and through the sign-in page in headless Chromium.
# `--workspace --test local_aws`, not `-p e2e`: resolved as the whole workspace, as `unit` built
# it, the test reuses every dependency `unit` compiled (`-p e2e` alone unifies other features and
# compiles them all again, minutes on a fresh clone).
e2e: venv web chromium rust-arm64
	cargo test --workspace --locked --test local_aws -- --nocapture

## The Rust standard library for arm64, the template's default architecture, which the end-to-end
## test builds the functions for as `sam build` does (tests/local_aws/arm64.rs): the one matching
## this toolchain, from rustup.
rust-arm64:
	@rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || \
		rustup target add aarch64-unknown-linux-gnu

FUNCTIONS := -p define-auth-challenge -p create-auth-challenge -p verify-auth-challenge -p pre-token-generation -p passkey-api

## Speed and size (not part of `make test`: timings are reported, never asserted), and what a
## million sign-ins cost per flow from those timings (tools/costs.py).
# The harness runs last, on binaries each built on its own: `sam build` builds each function
# from its crate, and the baseline is a plain hello world. Built in one cargo run, every binary
# would get the features any of them switches on (HTTP/2 from the AWS SDK's client), and which
# build wrote target/release last would decide the baseline.
bench: venv
	cargo bench --locked -p bench --bench logic -- --warm-up-time 1 --measurement-time 3
	cargo lambda build --release --output-format zip $(FUNCTIONS)
	for p in define-auth-challenge create-auth-challenge verify-auth-challenge pre-token-generation passkey-api bench; do \
		cargo build --release --locked -p $$p || exit 1; done
	./target/release/bench
	$(VENV)/bin/python tools/costs.py target/bench-runtime.json

## The post-deploy check of a stack on your account (README, Deploying to AWS): the stack's
## wiring, then a sign-in as a throwaway user with EMAIL's address (you type the code), deleted
## after. AWS credentials and region from the standard configuration.
STACK ?=
EMAIL ?=
smoke: venv
	@test -n "$(STACK)" -a -n "$(EMAIL)" || { echo "usage: make smoke STACK=<stack> EMAIL=<address you read>"; exit 2; }
	cargo build --locked -p cognito-signin
	$(VENV)/bin/python tools/smoke.py --stack "$(STACK)" --email "$(EMAIL)"

## Concurrent sign-ins through the local AWS (a few minutes; `make test` runs a small one).
LOAD_USERS ?= 100
LOAD_PORT ?= 4598
LOAD_RAMP ?= 1
LOAD_PASSWORD_EVERY ?= 5
# At most this many sign-ins in flight: the local AWS runs every function process and its own
# services on this machine's cores, where AWS gives each sandbox its own (RELIABILITY.md).
LOAD_IN_FLIGHT ?= 20
# Every tenth sign-in (the first of each ten) by a magic link.
LOAD_LINK_EVERY ?= 10
# Every tenth sign-in (the middle of each ten) by a passkey, registered through the account API
# first (a software authenticator, tools/soft_authenticator.py).
LOAD_PASSKEY_EVERY ?= 10
load: venv
	$(VENV)/bin/python tools/load.py --port $(LOAD_PORT) --users $(LOAD_USERS) --ramp $(LOAD_RAMP) \
		--password-every $(LOAD_PASSWORD_EVERY) --in-flight $(LOAD_IN_FLIGHT) --link-every $(LOAD_LINK_EVERY) \
		--passkey-every $(LOAD_PASSKEY_EVERY)

## Coverage-guided fuzzing of the three triggers' logic (nightly), FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
CARGO_FUZZ_VERSION := 0.13.1
fuzz: .tools/bin/cargo-fuzz
	PATH=$(CURDIR)/.tools/bin:$$PATH FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz.sh

.tools/bin/cargo-fuzz:
	cargo install --locked --root .tools cargo-fuzz --version $(CARGO_FUZZ_VERSION)

## The project-local tools, pinned: .venv (cargo-lambda + zig, aws-sam-cli, cfn-lint) and
## .venv/ministack (the emulator, whose botocore pin conflicts with aws-sam-cli's).
venv: $(VENV)/.installed

$(VENV)/.installed: tools/requirements.txt tools/requirements-ministack.txt tools/requirements-checkov.txt
	@echo "==> installing the pinned tools into $(VENV) (first run only)"
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	test -x $(VENV)/ministack/bin/python || $(PYTHON) -m venv $(VENV)/ministack
	$(VENV)/ministack/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-ministack.txt
	test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-checkov.txt
	touch $@

## The sign-in page: npm packages pinned by web/package-lock.json (no install scripts run: esbuild
## comes as a per-platform package), bundled by esbuild into web/dist.
web: web/node_modules/.installed
	cd web && node build.mjs

web/node_modules/.installed: web/package.json web/package-lock.json
	@echo "==> installing the sign-in page's pinned npm packages into web/node_modules (first run only)"
	cd web && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

## Debian's Chromium, for the browser tests (`make test` installs it on first run).
CHROMIUM ?= /usr/bin/chromium
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "==> installing Debian's chromium for the browser tests (first run only)"; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		log=$$(mktemp); \
		if ! { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			$$sudo apt-get install -y -qq --no-install-recommends chromium; } >$$log 2>&1; then \
			tail -40 $$log; exit 1; fi; \
		rm -f $$log; \
	fi
	@$(CHROMIUM) --version

clean: demo-down
	cargo clean
	rm -rf $(VENV) .tools .aws-sam .ministack fuzz/target
