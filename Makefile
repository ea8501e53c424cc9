# The two quick-start commands: `make run` and `make test`; `make examples` runs the worked examples.
SWIFT ?= swift
STATE ?= .coffer

.PHONY: setup build run test examples fuzz-plan clean

setup:
	@./scripts/setup.sh

build: setup
	$(SWIFT) build

# coffer's main job on the embedded default: the reference platform in $(STATE), with manifests/ applied.
run: build
	@if [ ! -f "$(STATE)/platform.sqlite" ]; then \
		$(SWIFT) run coffer platform init --state "$(STATE)" --world examples/reference/world.yaml; \
	fi
	$(SWIFT) run coffer apply --state "$(STATE)" --auto-approve manifests/

# The Swift tests (with a throwaway PostgreSQL cluster on loopback for the shared-state tests:
# scripts/test-postgres.sh), then the official Azure SDKs against `coffer serve` (Tests/sdk/run.sh: a virtualenv
# with the pinned SDKs, serve on a free port with a fresh reference platform, pytest).
test: setup
	$(SWIFT) build
	scripts/test-postgres.sh run $(SWIFT) test
	COFFER=.build/debug/coffer Tests/sdk/run.sh

# Every example in examples/, run end to end against a fresh state directory and checked (examples/run-all.sh).
examples: build
	COFFER=.build/debug/coffer bash examples/run-all.sh

# The plan-truth property over many more seeds than the test suite runs (SEEDS, FIRST).
SEEDS ?= 2000
FIRST ?= 1000
fuzz-plan: setup
	COFFER_PLAN_TRUTH_SEEDS=$(SEEDS) COFFER_PLAN_TRUTH_FIRST=$(FIRST) $(SWIFT) test --filter PlanTruthTests

clean:
	rm -rf .build .coffer
