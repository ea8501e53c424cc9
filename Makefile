# The two quick-start commands: `make run` and `make test`.
SWIFT ?= swift
STATE ?= .coffer

.PHONY: setup build run test clean

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

test: setup
	$(SWIFT) test

clean:
	rm -rf .build .coffer
