# floe: `make` builds, `make check` runs every test, `make demo` shows it work.
# CMake does the building; this file only names the steps.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
JOBS       ?= $(shell nproc)
PREFIX     ?= /usr/local
CMAKE_GEN  := $(shell command -v ninja >/dev/null 2>&1 && echo -G Ninja)

.PHONY: all install deps check test test-asan test-interop soak demo bench fuzz format clean

all: $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS)

$(BUILD)/CMakeCache.txt:
	@cmake -S . -B $(BUILD) $(CMAKE_GEN) >/dev/null

# PREFIX (default /usr/local) and DESTDIR (staged installs) are honoured.
install: all
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

deps:
	@scripts/install-deps

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory test-interop

test: all
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# clang: its UBSan also checks pointer arithmetic (NULL + 0) that gcc's skips
test-asan:
	@CC=clang cmake -S . -B $(BUILD_ASAN) $(CMAKE_GEN) -DFLOE_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	@cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS)

test-interop: all
	@tests/interop/run $(BUILD)/floe

# The randomized model tests, far longer than in `make test`: every schema of
# test_table_model for seeds 1..SOAK_SEEDS at SOAK_STEPS steps each, then
# test_iceberg_model with its seeds moved by 1..SOAK_SEEDS. A failure prints
# the tail of the test's output (seed, step, op history) and stops.
SOAK_SEEDS ?= 10
SOAK_STEPS ?= 10000
soak: all
	@for s in $$(seq 1 $(SOAK_SEEDS)); do \
	  for sc in wide composite nokey; do \
	    echo "soak: table model $$sc, seed $$s, $(SOAK_STEPS) steps"; \
	    out="$$(FLOE_MODEL_SCHEMA=$$sc FLOE_MODEL_SEED=$$s FLOE_MODEL_STEPS=$(SOAK_STEPS) \
	      $(BUILD)/test_table_model 2>&1)" || { echo "$$out" | tail -80; exit 1; }; \
	  done; \
	  echo "soak: iceberg model, seeds +$$s, $$(( $(SOAK_STEPS) / 20 )) steps"; \
	  out="$$(FLOE_MODEL_SEED=$$s FLOE_MODEL_STEPS=$$(( $(SOAK_STEPS) / 20 )) \
	    $(BUILD)/test_iceberg_model 2>&1)" || { echo "$$out" | tail -80; exit 1; }; \
	done; echo "soak: passed"

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo $(BUILD)/floe

bench: deps
	@cmake -S . -B $(BUILD) $(CMAKE_GEN) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@bench/run $(BUILD)

fuzz: deps
	@CC=clang cmake -S . -B $(BUILD_FUZZ) $(CMAKE_GEN) -DFLOE_FUZZ=ON >/dev/null
	@cmake --build $(BUILD_FUZZ) -j $(JOBS)
	@echo "fuzzers in $(BUILD_FUZZ): run e.g. $(BUILD_FUZZ)/fuzz_parquet tests/fuzz/corpus/fuzz_parquet"

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
