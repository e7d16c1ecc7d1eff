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

# Each benchmark runs BENCHTIME times (3x: the figures are medians of 3
# runs; benchmarks use b.Loop, so that their setup runs once), one package
# after the other (-p 1: two benchmarks never share the machine);
# docs/performance.md is generated from the output by internal/cmd/benchdoc,
# with the machine's load before and after the run and the Go version. The
# cluster is started for the run (.cluster/bench). BenchmarkScale's sizes
# and the sizes it compares with kubectl: STRATA_BENCH_SIZES (default
# 1000,10000,50000), STRATA_BENCH_KUBECTL_MAX and STRATA_BENCH_APPLY_MAX
# (default 10000).
BENCHTIME ?= 3x
BENCH_OUT := $(BIN)/bench.txt
bench: $(CLUSTER) ## benchmarks (with their peers side by side) against a local cluster started for the run; writes docs/performance.md
	@mkdir -p $(BIN)
	@{ echo "source: make bench BENCHTIME=$(BENCHTIME)"; echo "date: $$(date -u +%FT%TZ)"; echo "go: $$($(GO) version)"; \
		echo "load: $$(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the start, $$(nproc) cores, $$(awk '/MemTotal/ {printf "%.0f GB", $$2/1048576}' /proc/meminfo) memory"; } > $(BENCH_OUT)
	$(CLUSTER) run --dir .cluster/bench -- $(GO) test -p 1 -v -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout 120m $(PKGS) >> $(BENCH_OUT) 2>&1 \
		|| { tail -n 60 $(BENCH_OUT); exit 1; }
	@echo "load: $$(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the end" >> $(BENCH_OUT)
	$(GO) run ./internal/cmd/benchdoc -src . < $(BENCH_OUT) > docs/performance.md
	@grep -E '^Benchmark' $(BENCH_OUT)

clean:
	rm -rf $(BIN)
