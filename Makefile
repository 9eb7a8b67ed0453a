# The commands a developer (and CI) runs. See README.md.
.PHONY: run test bench lint fmt fmt-check migrate hosts tools check

run:        ## the whole system locally: control plane :9393, tenant API :9292
	infra/dev/run.sh

test:       ## every test, against real PostgreSQL, Redis, moto and the Pact CLI
	infra/dev/test.sh

bench:      ## the benchmarks of SPEC.md §6 (figures printed and written to target/bench/)
	infra/bench/run.sh

lint:       ## clippy, warnings are errors; no import cycle or layer breach between modules
	cargo clippy --workspace --all-targets -- -D warnings
	python3 infra/dev/module_cycles.py

fmt:
	cargo fmt --all

fmt-check:
	cargo fmt --all -- --check

migrate:    ## control-database migrations, then the tenant schema rolled out to every tenant
	cargo run -q -p control-plane -- migrate

hosts:      ## make SUBDOMAIN.localhost resolve for the Pact CLI: make hosts SUBDOMAIN=acme
	infra/dev/hosts.sh add $(SUBDOMAIN)

tools:      ## install the test tools into .tools/
	infra/dev/tools.sh

check: fmt-check lint test
