# The commands README.md gives; CI (.ci/run) calls the same targets.
.PHONY: test lint unit template e2e bench-build bench dynamodb dev build

## Everything a change must pass: formatting, lints, every test, the
## template, and the end-to-end flow over the local stack.
test: lint unit template e2e

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

unit:
	cargo test --workspace --locked

## template.yaml passes cfn-lint (installed into .local/venv when missing).
template:
	"$$(scripts/python-tools cfn-lint)/cfn-lint" template.yaml

## A whole session over real HTTP against the local stack (make dev's).
e2e:
	tests/e2e/flow.py

## Benches are compiled in CI, not timed (shared machines are noisy).
bench-build:
	cargo bench --workspace --locked --no-run

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

## Every benchmark in one sitting (criterion, peers, Runtime API harness,
## arm64 sizes); writes BENCHMARKS.md. Not part of `make test`.
bench:
	scripts/bench
