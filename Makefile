# scriptstats — developer and CI entry points.
#
#   make demo        start the stack, load a demo history, print a summary from the views
#   make test        start the local stack (PostgreSQL + ClickHouse) and run every test
#   make test-unit   tests that need no services
#   make lint        gofmt, go vet, staticcheck
#   make generate    sql/statements.go from the .sql files (a test fails when it is stale)
#   make build       binaries into bin/
#   make detect-eval precision and recall of the change-point detection against planted truth, held-out seeds (DETECT_EVAL_FLAGS="-seeds 1-5" for the tuning seeds; DETECT_EVAL_FLAGS="-tcpd DIR" for the public series of a TCPD checkout at DIR)
#   make bench       measure loads, memory, dashboard latency; write docs/bench-results.* (BENCH_FLAGS="-runs 200000 -big-runs 0" to shrink)
#   make stack-up | stack-down | stack-purge   the local stack (deploy/local/stack.sh)

GO ?= go
GOFMT ?= gofmt
# Go may be installed without being on PATH.
export PATH := /usr/local/go/bin:$(PATH)
export GO

STACK := bash deploy/local/stack.sh
STATICCHECK_VERSION := v0.8.2
GO_FILES = $(shell find . -path ./.local -prune -o -name '*.go' -print)
# The tooling (bench, demodata, teststack, chserver, manifests) is a module of
# its own, deploy/go.mod, so that go.mod lists only what the product needs.
# Its commands run from the repository root: go -C deploy.
DEPLOY := $(GO) -C deploy

.PHONY: help test test-unit lint build bench demo detect-eval stack-up stack-down stack-purge generate

generate:
	$(GO) generate ./sql

help:
	@sed -n 's/^#   //p' Makefile

stack-up:
	$(STACK) up

stack-down:
	$(STACK) down

stack-purge:
	$(STACK) purge

test: stack-up
	eval "$$($(STACK) env)" || exit 1; rc=0; \
	$(GO) test -count=1 -timeout 20m ./... || rc=1; \
	$(DEPLOY) test -count=1 -timeout 20m ./... || rc=1; \
	exit $$rc

test-unit:
	$(GO) test -count=1 ./transform/... ./schedules/... ./sql/... ./load/report/...

lint:
	@out="$$($(GOFMT) -l $(GO_FILES))"; \
	if [ -n "$$out" ]; then echo "gofmt -l: not formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(DEPLOY) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	$(DEPLOY) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

build:
	$(GO) build -o bin/ ./cmd/...

demo:
	bash deploy/local/demo.sh

detect-eval:
	$(DEPLOY) run ./detecteval $(DETECT_EVAL_FLAGS)

bench: stack-up
	eval "$$($(STACK) env)" && $(DEPLOY) run ./bench $(BENCH_FLAGS)

#   make bench-10m   the 10M-run measurement (issue 12; not in CI): 1M and 10M runs, one repetition, ~10 GB in PostgreSQL; writes .local/bench/10m.{json,md}
.PHONY: bench-10m
bench-10m: stack-up
	eval "$$($(STACK) env)" && $(DEPLOY) run ./bench -big-runs 10000000 -reps 1 -profile=false \
		-out .local/bench/10m.json -md .local/bench/10m.md -doc "" $(BENCH_FLAGS)

#   make soak        long crash soak: hundreds of SIGKILLs of passes at failpoints and random moments (SOAK_FLAGS="-run TestCrashAtRandomMoments" to narrow; SCRIPTSTATS_SOAK_KILLS=N kills per kind of pass)
.PHONY: soak
soak: stack-up
	eval "$$($(STACK) env)" && SCRIPTSTATS_SOAK=1 $(GO) test -count=1 -timeout 180m -v -run 'TestCrash' $(SOAK_FLAGS) ./cmd/scriptstats/
