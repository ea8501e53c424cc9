# The two quick-start commands: `make run` and `make test`.
SWIFT ?= swift

.PHONY: setup build run test clean

setup:
	@./scripts/setup.sh

build: setup
	$(SWIFT) build

# coffer's main job on the embedded default.
run: build
	$(SWIFT) run coffer --help

test: setup
	$(SWIFT) test

clean:
	rm -rf .build .coffer
