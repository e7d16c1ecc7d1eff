# strata — make targets. Everything a newcomer needs: `make demo`, `make test`.

GO        ?= go
BIN       := bin
STRATA    := $(BIN)/strata
CLUSTER   := $(BIN)/testcluster
DEV_DIR   := .cluster/dev
TEST_DIR  := .cluster/test
PKGS      := ./...
TESTFLAGS ?= -race -count=1 -timeout 45m
FUZZTIME  ?= 20s

.PHONY: all tools build test test-unit cluster-build cluster-up cluster-down demo fmt vet bench clean

all: build

build: ## build bin/strata
	$(GO) build -o $(STRATA) ./cmd/strata

$(CLUSTER): FORCE
	@$(GO) build -o $(CLUSTER) ./internal/cmd/testcluster

FORCE:

cluster-build: $(CLUSTER) ## build and cache the local cluster's binaries and kubectl (first run: several minutes)
	$(CLUSTER) build

# Graphviz's dot checks that `strata graph` output renders; the race detector
# (-race in TESTFLAGS) needs cgo and so a C compiler. Both are installed from
# Debian's packages when missing.
RACE_CC = $(if $(findstring -race,$(TESTFLAGS)),$(shell $(GO) env CC))
tools:
	@pkgs=; command -v dot >/dev/null || pkgs=" graphviz"; \
	if [ -n "$(RACE_CC)" ] && ! command -v "$(RACE_CC)" >/dev/null; then pkgs="$$pkgs gcc libc6-dev"; fi; \
	[ -z "$$pkgs" ] || { echo "installing$$pkgs from Debian's packages"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$pkgs >/dev/null; }

test: tools $(CLUSTER) ## the whole suite with the race detector, against one shared local cluster started for the run (its kubectl first on PATH), then a short fuzz run
	$(CLUSTER) run --dir $(TEST_DIR) -- $(GO) test $(TESTFLAGS) $(PKGS)
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./planner/config

test-unit: ## the fast tests alone, without a cluster: engine tests against in-memory providers; tests that need an API server skip
	$(GO) test -short -count=1 $(PKGS)

cluster-up: $(CLUSTER) ## start a local cluster that keeps running; prints its KUBECONFIG
	$(CLUSTER) up --dir $(DEV_DIR)

cluster-down: $(CLUSTER) ## stop the cluster of cluster-up
	$(CLUSTER) down --dir $(DEV_DIR)

DEMO_STACK := examples/quickstart
DEMO_FLAGS  = --kubeconfig $(DEV_DIR)/kubeconfig --state $(DEV_DIR)/quickstart-state.db

demo: build $(CLUSTER) ## build strata and a fresh local cluster; plan, apply, re-plan and list the quickstart stack
	$(STRATA) version
	$(CLUSTER) up --dir $(DEV_DIR)
	$(CLUSTER) status --dir $(DEV_DIR)
	@echo; echo '$$ strata plan $(DEMO_STACK)'
	$(STRATA) plan $(DEMO_STACK) $(DEMO_FLAGS)
	@echo; echo '$$ strata apply $(DEMO_STACK) --auto-approve'
	$(STRATA) apply $(DEMO_STACK) $(DEMO_FLAGS) --auto-approve
	@echo; echo '$$ strata plan $(DEMO_STACK) --detailed-exitcode   # nothing left to do'
	$(STRATA) plan $(DEMO_STACK) $(DEMO_FLAGS) --detailed-exitcode
	@echo; echo '$$ strata state list'
	$(STRATA) state list --dir $(DEMO_STACK) --state $(DEV_DIR)/quickstart-state.db
	@echo; echo 'The cluster keeps running: export KUBECONFIG=$(CURDIR)/$(DEV_DIR)/kubeconfig; stop it with make cluster-down.'

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

vet: ## go vet
	$(GO) vet ./...

# make bench runs the benchmarks of issue 19 (internal/cmd/benchdoc/bench.sh
# names them), one after the other, each BENCHTIME times (3x: the figures
# are medians of 3 runs; the benchmarks use b.Loop, so that their setup
# runs once), with timestamped progress on the terminal, against a cluster
# started for the run (.cluster/bench); the output is kept in
# $(BENCH_OUT), and docs/performance.md is generated from it by
# internal/cmd/benchdoc, even when a benchmark failed (the document shows
# the failure; make then fails). BENCH=regexp runs the module's benchmarks
# that match instead (the document says it is a subset). BenchmarkScale's
# settings: STRATA_BENCH_SIZES (default 1000,10000,50000),
# STRATA_BENCH_KUBECTL_MAX (default 10000) and STRATA_BENCH_APPLY_SIZES
# (default 10000); the document lists any that are set.
BENCHTIME ?= 3x
BENCH     ?=
BENCH_OUT := $(BIN)/bench.txt

bench: $(CLUSTER) ## the benchmarks of issue 19, each side by side with its peer, against a local cluster started for the run; writes docs/performance.md (BENCH=regexp: a subset)
	@mkdir -p $(BIN); rm -f $(BENCH_OUT)
	@$(CLUSTER) run --dir .cluster/bench -- env GO="$(GO)" BENCHTIME="$(BENCHTIME)" BENCH="$(BENCH)" OUT="$(BENCH_OUT)" \
		sh internal/cmd/benchdoc/bench.sh; rc=$$?; \
	$(GO) run ./internal/cmd/benchdoc -src . < $(BENCH_OUT) > docs/performance.md || exit 1; \
	echo "wrote docs/performance.md (raw output: $(BENCH_OUT))"; grep -E '^(Benchmark.* ns/op|--- FAIL|step-failed)' $(BENCH_OUT); exit $$rc

clean:
	rm -rf $(BIN)
