# Capstan. `make run` starts a local cluster; `make test` runs the whole suite.
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
DATA_DIR ?= $(CURDIR)/.capstan
PORT ?= 6443

.PHONY: build run test lint bench release

build:
	$(CARGO) build --workspace --bins

run: build images
	$(TARGET_DIR)/debug/capstan up --data-dir $(DATA_DIR) --port $(PORT)

# One build of the binaries and tests, then every test against the binaries it produced.
# Benchmarks are compiled (not linked) by `make lint`'s clippy and built by `make bench`.
test: images
	$(CARGO) build --workspace --bins --tests
	CAPSTAN_BIN_DIR=$(TARGET_DIR)/debug $(CARGO) test --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

release:
	$(CARGO) build --release --workspace --bins

bench:
	$(CARGO) build --release --workspace --bins
	$(MAKE) images
	ulimit -n $$(ulimit -Hn) && $(CARGO) bench -p capstan-apiserver --bench api
	ulimit -n $$(ulimit -Hn) && $(CARGO) bench -p capstan-scheduler --bench throughput
	ulimit -n $$(ulimit -Hn) && $(CARGO) bench -p capstan-e2e --bench rollout
	$(CARGO) bench -p capstan-kubelet --bench container
	ulimit -n $$(ulimit -Hn) && $(CARGO) bench -p capstan-kubelet --bench services
	ulimit -n $$(ulimit -Hn) && $(CARGO) bench -p capstan-e2e --bench pods
	ulimit -n $$(ulimit -Hn) && $(CARGO) bench -p capstan-e2e --bench cli

# A static capstan-testapp for test images: $(TARGET_DIR)/release/capstan-testapp.
.PHONY: images
images:
	$(CARGO) rustc -p capstan-testapp --release --bin capstan-testapp -- -C target-feature=+crt-static -C strip=debuginfo
