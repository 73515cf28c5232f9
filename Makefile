# swift-mesos: the commands people type. `make run` and `make test` set up everything on a fresh Debian machine.
SHELL := /bin/bash
SWIFT ?= swift
SWIFT_PROTOBUF_VERSION := 1.39.0
APT_PACKAGES := libcurl4-openssl-dev zlib1g-dev protobuf-compiler pkg-config curl
PROTOC_GEN_SWIFT := $(CURDIR)/.build-protoc/src/.build/release/protoc-gen-swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FUZZ_SECONDS ?= 600

.PHONY: all deps build test run protos protos-check codecs codecs-check bench fuzz clean

all: build

# Installs the Debian packages the build needs, only those missing: safe to run again.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "swift is not on PATH: install a Swift 6.2+ toolchain"; exit 1; }

build: deps
	$(SWIFT) build

# The CPU-bound unit suites (codecs against the reference, property tests) run first and on their own: run together
# with the integration suites they held both of Swift concurrency's threads (2 cores) for a minute and a half, and
# the integration tests' waits for the local cluster ran out.
UNIT_TESTS = MesosTests\.|MesosRecordIOTests\.|MesosCodecsTests\.|MesosOffersTests\.
test: build
	@# The full log goes to .build/test.log; the screen gets failures, suites and the runner's summary.
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter '$(UNIT_TESTS)' 2>&1 | tee .build/test.log | grep -vE '^(◇|↳ )|^✔ Test "' ; exit $${PIPESTATUS[0]}
	$(SWIFT) test --skip-build --skip '$(UNIT_TESTS)' 2>&1 | tee -a .build/test.log | grep -vE '^(◇|↳ )|^✔ Test "' ; exit $${PIPESTATUS[0]}

# The demo: mesos-submit ships a local directory to a task on the embedded local master (or on $(MESOS_MASTER)).
run: deps
	$(SWIFT) build --product mesos-submit
	@echo
	.build/debug/mesos-submit --artifact Examples/demo/app --follow $(if $(MESOS_MASTER),--master $(MESOS_MASTER)) -- ./app/run.sh

$(PROTOC_GEN_SWIFT):
	rm -rf .build-protoc/src
	git clone -q --branch $(SWIFT_PROTOBUF_VERSION) https://github.com/apple/swift-protobuf .build-protoc/src
	cd .build-protoc/src && $(SWIFT) build -c release --product protoc-gen-swift

# Regenerates Sources/Mesos/Generated from Protos/ (commit the result).
protos: deps $(PROTOC_GEN_SWIFT)
	scripts/generate-protos.sh $(PROTOC_GEN_SWIFT) Sources/Mesos/Generated

# Proves the committed generated code is what Protos/ gives.
protos-check: deps $(PROTOC_GEN_SWIFT)
	@tmp=$$(mktemp -d); scripts/generate-protos.sh $(PROTOC_GEN_SWIFT) $$tmp/Generated >/dev/null; \
	if diff -r $$tmp/Generated Sources/Mesos/Generated; then echo "protos-check: generated code is current"; rm -rf $$tmp; \
	else echo "protos-check: Sources/Mesos/Generated is stale: run 'make protos'"; rm -rf $$tmp; exit 1; fi

# Regenerates Sources/MesosCodecs/Generated (the generated JSON and binary codecs) from Protos/ with the
# mesos-codegen target of this package (commit the result).
codecs: deps
	scripts/generate-codecs.sh Sources/MesosCodecs/Generated

# Proves the committed generated codecs are what Protos/ and mesos-codegen give.
codecs-check: deps
	@tmp=$$(mktemp -d); scripts/generate-codecs.sh $$tmp/Generated >/dev/null 2>&1; \
	if diff -r $$tmp/Generated Sources/MesosCodecs/Generated; then echo "codecs-check: generated codecs are current"; rm -rf $$tmp; \
	else echo "codecs-check: Sources/MesosCodecs/Generated is stale: run 'make codecs'"; rm -rf $$tmp; exit 1; fi

# Decode benchmark, side by side with pymesos and mesos-go (../shared/bench/peers).
bench: deps
	Benchmarks/run.sh

# libFuzzer over the RecordIO decoder and the event decoders; FUZZ_SECONDS per target.
fuzz: deps
	FuzzTesting/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf .build .build-protoc Benchmarks/.build FuzzTesting/.build
