# The commands README.md gives; CI (.ci/run) calls the same targets.
.PHONY: test lint unit template e2e scan-logs bench-build bench fuzz dynamodb dev build sam-build

## Everything a change must pass: formatting, lints, every test, the
## template, the end-to-end flow and the browser tests over the local stack,
## and a scan of every log line those produced for tokens, secrets and
## passwords.
test: lint unit template e2e scan-logs

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

## Test logs are kept in target/test-logs for scan-logs; a fresh run
## starts from an empty directory.
unit:
	rm -rf "$${CARGO_TARGET_DIR:-target}/test-logs"
	cargo test --workspace --locked

## template.yaml passes the SAM translator (sam validate, offline) and
## cfn-lint (sam validate --lint); both installed into .local/venv when
## missing. Its security-relevant shape is asserted by tests/tests/template.rs.
template:
	bin=$$(scripts/python-tools sam cfn-lint) && \
	  SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 "$$bin/sam" validate --template template.yaml && \
	  SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 "$$bin/sam" validate --lint --template template.yaml

## A whole session over real HTTP against the local stack (make dev's), then
## the browser tests in headless Chromium (installed with apt when missing).
e2e:
	tests/e2e/flow.py

## No JWT, test secret or test password in any line the tests logged
## (target/test-logs). Each source must have logged at least its floor of
## JSON log lines (about half of a normal run; e2e-startup: one refusal
## line per case), so a broken capture fails instead of passing.
scan-logs:
	cargo run --quiet --locked -p integration-tests --bin scan-logs -- \
	  --require functions:70 --require authorizer:1000 --require flow:8 --require logs:5 \
	  --require e2e-stack:60 --require e2e-startup:18 --require authctl:60 --require account:50 --min-lines 2500

## Benches are compiled in CI, not timed (shared machines are noisy): in
## the test profile, over the dependencies `make test` already built (the
## bench profile's fat LTO rebuilt the whole SDK: ~15 of CI's minutes).
bench-build:
	cargo test --workspace --benches --locked --no-run

## Every fuzz target for FUZZ_SECONDS each (cargo-fuzz, libFuzzer; installs
## cargo-fuzz into .local/cargo when missing). Fails on any crash.
FUZZ_SECONDS ?= 30
fuzz:
	scripts/fuzz $(FUZZ_SECONDS)

## DynamoDB Local in memory on port 8000 (installs it on first use).
dynamodb:
	scripts/dynamodb-local 8000

## The local stack: DynamoDB Local, tables, and every function under
## `cargo lambda watch` on http://127.0.0.1:9000 (installs what is missing).
dev:
	scripts/dev

## Release arm64 binaries for Lambda, as `sam build` makes them, with sizes.
build:
	scripts/build

## `sam build` itself (slow: ~15 minutes on 2 cores), with cargo-lambda and
## zig on PATH, then the built files' sizes and panic strategy.
sam-build:
	scripts/sam-build

## Every benchmark in one sitting (criterion, peers, Runtime API harness,
## arm64 sizes); writes BENCHMARKS.md. Not part of `make test`.
bench:
	scripts/bench
