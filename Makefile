# `make run` builds a release binary and serves on the embedded defaults;
# `make test` runs the whole suite. Both bootstrap the machine first (quick when nothing is missing).
SWIFT ?= swift
ARGS ?=

.PHONY: run test build release dist bootstrap bootstrap-build bench fuzz clean

bootstrap:
	@scripts/bootstrap.sh

# Only what building needs: running Strata pulls in no test tools.
bootstrap-build:
	@scripts/bootstrap.sh --build-only

run: bootstrap-build release
	$$($(SWIFT) build -c release --show-bin-path)/strata serve $(ARGS)

release:
	$(SWIFT) build -c release --product strata

# One binary to copy to a machine without Swift: the Swift runtime and Foundation linked in, so
# it needs only the C libraries of the README's apt-get line. Built in .build-static (the flags
# differ, and the regular release build is kept); scripts/check-dist.sh proves what it links and
# runs it with the toolchain's runtime hidden.
DIST_FLAGS = -c release --product strata --static-swift-stdlib --scratch-path .build-static
dist: bootstrap-build
	$(SWIFT) build $(DIST_FLAGS)
	mkdir -p dist
	cp "$$($(SWIFT) build $(DIST_FLAGS) --show-bin-path)/strata" dist/strata
	scripts/check-dist.sh dist/strata

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
	rm -rf .build .build-static dist/strata
