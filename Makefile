# `make run` builds a release binary and serves on the embedded defaults;
# `make test` runs the whole suite. Both bootstrap the machine first (quick when nothing is missing).
SWIFT ?= swift
ARGS ?=

.PHONY: run test build release bootstrap bootstrap-build bench fuzz clean

bootstrap:
	@scripts/bootstrap.sh

# Only what building needs: running Strata pulls in no test tools.
bootstrap-build:
	@scripts/bootstrap.sh --build-only

run: bootstrap-build release
	$$($(SWIFT) build -c release --show-bin-path)/strata serve $(ARGS)

release:
	$(SWIFT) build -c release --product strata

build: bootstrap-build
	$(SWIFT) build

# Build tests once, then run them without rebuilding (alternating build/test recompiles
# packages with traits on SwiftPM 6.3).
test: bootstrap
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: bootstrap
	cd Benchmarks && $(SWIFT) package benchmark

# libFuzzer harnesses over the decoders (docs/fuzzing.md): a sanitized build in Fuzz/.build, then
# each harness for FUZZ_SECONDS from a scratch copy of Fuzz/Corpus. Not part of `make test`.
FUZZ_SECONDS ?= 60
fuzz:
	SWIFT="$(SWIFT)" FUZZ_SECONDS=$(FUZZ_SECONDS) Fuzz/fuzz.sh

clean:
	rm -rf .build
