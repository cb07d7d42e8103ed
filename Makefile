# iscsi-root: build, test, fuzz, benchmark.
#   make            debug build
#   make check      installs missing Debian packages (as root), lint, then every test; CI runs this
#   make bench      probe/discover and the DVT data path against libiscsi's tools, on a local tgtd
#   make fuzz       libFuzzer on every decoder, FUZZ_SECONDS each
#   make format / make lint / make clean

SWIFT ?= swift
# Build folder of these targets; engineers working side by side pass their own.
SCRATCH ?= .build

# Suites that `make check` runs before `swift test`, each a target that prints its own
# "N passed, N failed" line. swift test comes last because CI reads the closing summary.
# Fragments in mk/ add theirs without editing this file, e.g. mk/vm.mk:
#   CHECK_SUITES += vm
#   vm: ; Tests/VM/run
CHECK_SUITES ?=

.DEFAULT_GOAL := all
-include mk/*.mk

# The suites share one machine (2 cores) and tgtd fixtures; run them one after the other.
.NOTPARALLEL:
.PHONY: all deps check test bench bench-binary fuzz fuzz-build format lint clean

all:
	$(SWIFT) build --scratch-path $(SCRATCH)

deps:
	@scripts/install-deps.sh

# lint first: it takes seconds and a formatting slip should not wait for the long suites.
# Then the shipped binary (Embedded Swift, mk/static.mk): code that mode rejects fails early.
# Each suite's wall time is printed after it: CI has a time budget, and this says where it goes.
# The tests' build runs beside the suites, niced: QEMU's TCG keeps one core busy, the build
# takes the other, and `swift test` finds it done.
check: deps lint static
	@set -e; log=$(SCRATCH)/check-tests-build.log; mkdir -p $(SCRATCH); \
	nice -n 10 $(SWIFT) build --build-tests --scratch-path $(SCRATCH) >$$log 2>&1 & build=$$!; \
	for suite in $(CHECK_SUITES); do \
		started=$$(date +%s); $(MAKE) --no-print-directory $$suite || { kill $$build 2>/dev/null; exit 1; }; \
		echo "check: $$suite took $$(($$(date +%s) - started)) s"; \
	done; \
	started=$$(date +%s); \
	wait $$build || { tail -n 40 $$log; echo "check: the tests' build failed (log: $$log)"; exit 1; }; \
	$(MAKE) --no-print-directory test; \
	echo "check: test took $$(($$(date +%s) - started)) s after its build (beside the suites)"

# Unit tests, the tgtd integration tests (InitiatorTests) and the fuzz corpus replay
# (FuzzReplayTests) in one run.
test: deps
	$(SWIFT) test --scratch-path $(SCRATCH)

# BENCH_BINARY=cache/bin/iscsi-root (after `make static`) measures the binary that boots.
BENCH_BINARY ?= $(SCRATCH)/release/iscsi-root

# The binary the userspace benchmarks (bench-probe, mk/bench-dvt.mk) measure.
bench-binary: deps
	$(if $(filter $(SCRATCH)/release/iscsi-root,$(BENCH_BINARY)),$(SWIFT) build -c release --scratch-path $(SCRATCH) --product iscsi-root)

bench: bench-binary
	scripts/bench-probe.sh $(BENCH_BINARY)

# --- Fuzzing ---------------------------------------------------------------------------
# Sources/FuzzTargets has one entry point per decoder; Sources/iscsi-root-fuzz is both the
# libFuzzer driver (built with -DFUZZING) and, in a normal build, a replayer of saved inputs.
# New inputs that add coverage are merged into Tests/Fuzz/Corpus/<target>/ (commit them);
# `make check` replays that corpus without the fuzzer. To run one fuzzer by hand:
#   make fuzz-build
#   FUZZ_TARGET=sense-data .build-fuzz/release/iscsi-root-fuzz -max_total_time=60 Tests/Fuzz/Corpus/sense-data
# A crash is written to .build-fuzz/artifacts/<target>-crash-<sha1>; reproduce it with
#   swift run iscsi-root-fuzz <target> .build-fuzz/artifacts/<target>-crash-<sha1>
FUZZ_SECONDS ?= 60
FUZZ_SCRATCH ?= .build-fuzz
FUZZ_CORPUS := Tests/Fuzz/Corpus
FUZZER := $(FUZZ_SCRATCH)/release/iscsi-root-fuzz

fuzz-build:
	$(SWIFT) build -c release --scratch-path $(FUZZ_SCRATCH) --sanitize=fuzzer -Xswiftc -DFUZZING --product iscsi-root-fuzz
	$(SWIFT) build --scratch-path $(SCRATCH) --product iscsi-root-fuzz

fuzz: fuzz-build
	@set -e; mkdir -p $(FUZZ_SCRATCH)/artifacts; \
	for target in $$($(SCRATCH)/debug/iscsi-root-fuzz --list); do \
		found=$(FUZZ_SCRATCH)/found/$$target; rm -rf $$found; mkdir -p $$found $(FUZZ_CORPUS)/$$target; \
		echo "fuzz: $$target for $(FUZZ_SECONDS) s"; \
		FUZZ_TARGET=$$target $(FUZZER) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_SCRATCH)/artifacts/$$target- $$found $(FUZZ_CORPUS)/$$target \
			2>$(FUZZ_SCRATCH)/$$target.log || { tail -n 40 $(FUZZ_SCRATCH)/$$target.log; exit 1; }; \
		grep -E '^stat::number_of_executed_units' $(FUZZ_SCRATCH)/$$target.log; \
		FUZZ_TARGET=$$target $(FUZZER) -merge=1 $(FUZZ_CORPUS)/$$target $$found 2>>$(FUZZ_SCRATCH)/$$target.log; \
		echo "fuzz: $$target corpus now $$(ls $(FUZZ_CORPUS)/$$target | wc -l) inputs"; \
	done

# --- Source hygiene --------------------------------------------------------------------
format:
	$(SWIFT) format --in-place --recursive Sources Tests

lint:
	$(SWIFT) format lint --recursive Sources Tests

clean:
	rm -rf $(SCRATCH) $(FUZZ_SCRATCH)
