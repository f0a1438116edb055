# aod: build, run, test. GNU Make.
#
#   make            build build/aod
#   make run        install missing packages, build, run the agent in the foreground
#   make check      install what tests need, build, run every test
#   make check-asan unit tests under ASan/UBSan (make check runs them too)
#   make bench      benchmarks (figures, no assertions)
#   make fuzz       libFuzzer harnesses (tests/fuzz), FUZZ_SECONDS each (default 60);
#                   findings go to tests/fuzz/regress/, which make check replays

VERSION     := 0.1.0
BUILD       ?= build
CC          ?= gcc
CLANG       ?= clang
BPFTOOL     ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
ARCH        := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
PKGS        := libbpf libelf zlib yaml-0.1 libzstd libarchive jansson libsystemd libmicrohttpd libxcrypt sqlite3
PKG_CFLAGS   = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS     = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPT         ?= -O2 -g
SAN         ?=
CFLAGS      := $(OPT) $(SAN) $(EXTRA_CFLAGS) -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	       -D_GNU_SOURCE -DAOD_VERSION='"$(VERSION)"' \
	       -Isrc -I$(BUILD) -I$(BUILD)/bpf $(PKG_CFLAGS)
LDFLAGS     := $(SAN)
LDLIBS      += $(PKG_LIBS) -lpthread -lm
BPF_CFLAGS  := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -Isrc -Isrc/bpf -Wall -Werror

BPF_SRCS    := $(wildcard src/bpf/*.bpf.c)
BPF_OBJS    := $(patsubst src/bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS   := $(patsubst src/bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))

MAIN_SRC    := src/cli/main.c
LIB_SRCS    := $(filter-out $(MAIN_SRC) $(BPF_SRCS),$(wildcard src/*/*.c))
LIB_OBJS    := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS)) $(BUILD)/obj/default_config.o \
	       $(BUILD)/obj/openapi_json.o $(BUILD)/obj/ui_assets.o
UI_SRCS     := $(wildcard ui/*.html ui/*.css ui/src/*.js) ui/package.json ui/package-lock.json
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(HELPER_SRCS))
BENCH_SRCS  := $(wildcard bench/*.c)
BENCH_BINS  := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.SECONDARY:
.PHONY: all deps run check check-unit check-asan bench clean format vm-setup install tests-build asan-build
.PHONY: fuzz fuzz-build fuzz-bins
all: $(BUILD)/aod

deps:
	@scripts/deps.sh build

$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	@test -r /sys/kernel/btf/vmlinux || { echo "error: /sys/kernel/btf/vmlinux missing: the kernel needs CONFIG_DEBUG_INFO_BTF" >&2; exit 1; }
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: src/bpf/%.bpf.c $(wildcard src/bpf/*.h) $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	llvm-strip -g $@ 2>/dev/null || true

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name aod_$* > $@.tmp && mv $@.tmp $@

$(BUILD)/default_config.c: config/aod.yaml
	@mkdir -p $(@D)
	scripts/embed.sh aod_default_config_yaml $< > $@

$(BUILD)/obj/default_config.o: $(BUILD)/default_config.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

# the API's OpenAPI document and the web UI, embedded (src/serve/static.h)
$(BUILD)/openapi_json.c: src/serve/openapi.json
	@mkdir -p $(@D)
	scripts/embed.sh aod_openapi_json $< > $@

$(BUILD)/ui_assets.c: $(UI_SRCS) scripts/ui-build.sh
	@mkdir -p $(@D)
	scripts/ui-build.sh $(BUILD) $@

$(BUILD)/obj/openapi_json.o: $(BUILD)/openapi_json.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/ui_assets.o: $(BUILD)/ui_assets.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: src/%.c $(BPF_SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libaod.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/aod: $(BUILD)/obj/cli/main.o $(BUILD)/libaod.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libaod.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests -o $@ $< $(BUILD)/libaod.a $(LDLIBS) -lcmocka

$(BUILD)/tests/%: tests/helpers/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# a FUSE filesystem that stalls on demand (block requests that hang, for tests)
$(BUILD)/tests/stallfs: tests/helpers/stallfs.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags fuse3) $(LDFLAGS) -o $@ $< $(shell pkg-config --libs fuse3)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libaod.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libaod.a $(LDLIBS)

tests-build: $(BUILD)/aod $(UNIT_BINS) $(HELPER_BINS) $(BENCH_BINS)

# Fuzzing: the library with -fsanitize=fuzzer-no-link (SAN), harnesses linked with libFuzzer.
FUZZ_BUILD  := build-fuzz
FUZZ_SAN    := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	       -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 60
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libaod.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libaod.a $(LDLIBS)

fuzz-bins: $(FUZZ_BINS)

fuzz-build:
	@if why=$$(tests/fuzz/lib.sh available); then \
		$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(CLANG) OPT="-O1 -g" \
			SAN="$(FUZZ_SAN)" fuzz-bins; \
	else echo "fuzz-build: skipped: $$why"; fi

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ_BUILD)

run: deps all
	@scripts/run-agent.sh $(BUILD)/aod

check:
	@scripts/deps.sh test
	@scripts/npm-deps.sh $(BUILD)/npm
	@$(MAKE) --no-print-directory tests-build
	@$(MAKE) --no-print-directory asan-build
	@$(MAKE) --no-print-directory fuzz-build
	@AOD_BUILD=$(BUILD) tests/run-all.sh runner unit integration vm asan fuzz

check-unit: tests-build
	@AOD_BUILD=$(BUILD) tests/run-all.sh unit

asan-build:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g" \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		tests-build

check-asan:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory asan-build
	@tests/run-all.sh asan

bench:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory tests-build
	@AOD_BUILD=$(BUILD) bench/run.sh

vm-setup:
	@tests/vm/smbvm/setup.sh

format:
	clang-format -i $(wildcard src/*/*.c src/*/*.h tests/unit/*.c)

clean:
	rm -rf build build-asan build-fuzz

-include $(wildcard $(BUILD)/obj/*/*.d)

PREFIX ?= /usr/local
install: all
	install -D -m 0755 $(BUILD)/aod $(DESTDIR)$(PREFIX)/bin/aod
	install -D -m 0644 packaging/aod.service $(DESTDIR)/etc/systemd/system/aod.service
	install -d -m 0755 $(DESTDIR)/etc/aod
	test -e $(DESTDIR)/etc/aod/aod.yaml || sed -e 's|^aod_output_dir: var/aod|aod_output_dir: /var/log/aod|' \
		-e 's|control_socket: var/aod.sock|control_socket: /run/aod/aod.sock|' config/aod.yaml \
		> $(DESTDIR)/etc/aod/aod.yaml
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/aod/README.md
