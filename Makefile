# Citadel — self-hosted continuous compliance for AWS.
#   make demo   scan an emulated AWS account end to end (installs what it needs)
#   make test   vet and every test, against real local servers it starts and stops
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
PYTHON    ?= python3
VENV      := .venv
VENV_OK   := $(VENV)/.installed
SHARED    ?= $(abspath ../shared)
FUNCTIONS := $(notdir $(wildcard functions/*))
LDFLAGS   := -s -w
GOTEST    ?= $(GO) test -p 2 -timeout 75m

export CITADEL_SHARED_DATA ?= $(SHARED)/data

.PHONY: help venv deps build test vet bench demo clean $(FUNCTIONS:%=bin/%/bootstrap)

help:
	@echo "make demo    run the main job end to end on an emulated AWS account"
	@echo "make test    go vet and every test, against local servers it starts"
	@echo "make build   every Lambda as bin/<name>/bootstrap (provided.al2023, arm64)"
	@echo "make bench   the benchmarks recorded in docs/benchmarks.md"

# The Python tools (Prowler, moto) live in a local virtualenv.
venv: $(VENV_OK)
$(VENV_OK): requirements.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

deps: venv
	$(GO) mod download

build: $(FUNCTIONS:%=bin/%/bootstrap)
$(FUNCTIONS:%=bin/%/bootstrap): bin/%/bootstrap:
	@mkdir -p $(@D)
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='$(LDFLAGS)' -o $@ ./functions/$*

vet:
	$(GO) vet ./...

test: deps vet
	scripts/with-moto.sh $(GOTEST) ./...

bench: deps
	scripts/with-moto.sh $(GO) test -run '^$$' -bench . -benchmem -benchtime 1x ./shared/...

demo: deps
	scripts/with-moto.sh $(GO) run ./cmd/citadel demo

clean:
	rm -rf bin out .run
