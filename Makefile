# The commands README.md gives; CI (.ci/run) calls the same targets.
.PHONY: test lint unit bench-build dynamodb dev

## Everything a change must pass: formatting, lints, every test.
test: lint unit

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

unit:
	cargo test --workspace --locked

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
