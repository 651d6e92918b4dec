# Segport — the two set-up commands are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: run test build ui deps deps-test check unit keychain e2e bindings bundle bench

## Install what is missing, build, and open the app (the demo offers itself when nothing is configured).
run: build
	./scripts/run.sh

## Install what is missing, then run every test.
test: deps-test ui
	$(MAKE) check
	$(MAKE) unit
	$(MAKE) bindings
	$(MAKE) keychain
	$(MAKE) e2e
	@echo "make test: all suites passed"

deps:
	./scripts/install-deps.sh

deps-test:
	./scripts/install-deps.sh --test

ui:
	cd ui && npm run build

build: deps ui
	$(CARGO) build --workspace

## Formatting, lints and the UI's type check.
check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	cd ui && npm run check

## Rust tests (core, client, sandbox, CLI, app commands on the mock runtime) and UI unit tests.
unit:
	$(CARGO) test --workspace
	cd ui && npm test

## The TypeScript bindings are generated from Rust by `cargo test`; fail when they drift.
bindings:
	@git diff --exit-code -- ui/src/bindings || { echo "ui/src/bindings differ from the Rust types: run cargo test and commit them" >&2; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard ui/src/bindings)" || { echo "new generated bindings are not committed" >&2; exit 1; }

## The real OS keychain (Secret Service) through keyring, in a private D-Bus session.
keychain:
	./tests/with-keyring.sh $(CARGO) test -p segport-core --test keychain -- --ignored

## The real window over WebDriver under Xvfb, against the sandbox (debug builds embed ui/dist:
## the UI is built first). Screens for the docs land in target/e2e/screens/.
e2e: ui
	$(CARGO) build -p segport -p segport-sandbox
	xvfb-run -a -s "-screen 0 1280x860x24" ./tests/with-keyring.sh .venv/bin/pytest -q tests/e2e

bundle: deps ui
	npx tauri build --bundles deb

## Benchmarks (numbers, no assertions): sandbox ingest rate and a 1M-row CLI export.
bench: build
	./scripts/bench.sh
