# aod: build, run, test. GNU Make.
#
#   make            build build/aod
#   make run        install missing packages, build, run the agent in the foreground
#   make check      install what tests need, build, run every test
#   make check-asan unit tests under ASan/UBSan (make check runs them too)
#   make bench      benchmarks (figures, no assertions)
#   make fuzz       libFuzzer harnesses (tests/fuzz), FUZZ_SECONDS each (default 60);
#                   findings go to tests/fuzz/regress/, which make check replays
#   make man        man pages aod(8), aod.yaml(5) from man/*.scd (scdoc) into $(BUILD)/man
#   make deb        Debian package (debhelper) into $(BUILD)/pkg; make rpm: the RPM
#   make install    binary, unit, config, man pages, completion, assets (DESTDIR, PREFIX)

VERSION     := 0.1.0
BUILD       ?= build
CC          ?= gcc
CLANG       ?= clang
BPFTOOL     ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
ARCH        := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
PKGS        := libbpf libelf zlib yaml-0.1 libzstd libarchive jansson libsystemd libmicrohttpd libxcrypt sqlite3
# Loaded with dlopen() by the uploader only (src/upload/s3_lib.c): headers at
# build time, never linked, so an agent without upload: does not map them.
DL_PKGS     := libcurl libcrypto
PKG_CFLAGS   = $(shell pkg-config --cflags $(PKGS) $(DL_PKGS) 2>/dev/null)
PKG_LIBS     = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
soname       = $(shell objdump -p "$$(pkg-config --variable=libdir $(1))/$(2).so" 2>/dev/null | awk '$$1 == "SONAME" {print $$2}')
CURL_SONAME   := $(call soname,libcurl,libcurl)
CRYPTO_SONAME := $(call soname,libcrypto,libcrypto)
# the names the build machine's libraries carry (s3_lib.c has defaults)
$(BUILD)/obj/upload/s3_lib.o: CFLAGS += $(if $(CURL_SONAME),-DAOD_LIBCURL_SONAME='"$(CURL_SONAME)"') \
	$(if $(CRYPTO_SONAME),-DAOD_LIBCRYPTO_SONAME='"$(CRYPTO_SONAME)"')

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
BENCH_BINS  := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS)) $(BUILD)/bench/exit0

.SECONDARY:
.PHONY: all deps run check check-unit check-asan bench clean format vm-setup install tests-build asan-build
.PHONY: fuzz fuzz-build fuzz-bins
.PHONY: man deb rpm
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

# bench/proc.sh's cheapest exec: static, no libc (see the file)
$(BUILD)/bench/exit0: bench/exit0.S
	@mkdir -p $(@D)
	$(CC) -static -nostdlib -o $@ $<

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

# Man pages: one scdoc source each.
MAN_SRCS    := $(wildcard man/*.scd)
MAN_PAGES   := $(patsubst man/%.scd,$(BUILD)/man/%,$(MAN_SRCS))
man: $(MAN_PAGES)

$(BUILD)/man/%: man/%.scd
	@mkdir -p $(@D)
	scdoc < $< > $@.tmp && mv $@.tmp $@

# Where `make install` puts things. The packages set these (debian/rules, packaging/rpm):
# the binary in /usr/sbin, the unit in the system unit directory, assets in /usr/share/aod.
PREFIX        ?= /usr/local
BINDIR        ?= $(PREFIX)/bin
DATADIR       ?= $(PREFIX)/share
MANDIR        ?= $(DATADIR)/man
DOCDIR        ?= $(DATADIR)/doc/aod
UNITDIR       ?= /etc/systemd/system
COMPLETIONDIR ?= $(DATADIR)/bash-completion/completions
install: all man
	install -D -m 0755 $(BUILD)/aod $(DESTDIR)$(BINDIR)/aod
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/local/bin/aod|$(BINDIR)/aod|g' \
		-e 's|^Documentation=.*|Documentation=man:aod(8) man:aod.yaml(5) file://$(DOCDIR)/README.md|' \
		packaging/aod.service > $(DESTDIR)$(UNITDIR)/aod.service
	install -d -m 0755 $(DESTDIR)/etc/aod
	test -e $(DESTDIR)/etc/aod/aod.yaml || sed -e 's|^aod_output_dir: var/aod|aod_output_dir: /var/log/aod|' \
		-e 's|control_socket: var/aod.sock|control_socket: /run/aod/aod.sock|' config/aod.yaml \
		> $(DESTDIR)/etc/aod/aod.yaml
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/
	install -D -m 0644 $(BUILD)/man/aod.8 $(DESTDIR)$(MANDIR)/man8/aod.8
	install -D -m 0644 $(BUILD)/man/aod.yaml.5 $(DESTDIR)$(MANDIR)/man5/aod.yaml.5
	install -D -m 0644 packaging/bash-completion/aod $(DESTDIR)$(COMPLETIONDIR)/aod
	for d in prometheus grafana; do [ ! -d packaging/$$d ] || \
		find packaging/$$d -type f | while read -r f; do \
			install -D -m 0644 "$$f" "$(DESTDIR)$(DATADIR)/aod/$${f#packaging/}" || exit 1; done; done

# Packages, from a copy of the tracked and new files (build outputs left out) in $(PKG_DIR).
# The compiled tree is kept there between runs (build-deb, build-rpm) while the Makefile
# and the packaging are unchanged, so a rebuild only compiles what changed.
#   make deb [DEB_VERSION=V]   $(PKG_DIR)/aod_V_ARCH.deb (V: debian/changelog's)
#   make rpm                   $(PKG_DIR)/rpm/RPMS/ARCH/aod-$(VERSION)-1.ARCH.rpm
PKG_DIR     ?= $(BUILD)/pkg
DEB_VERSION ?=
deb:
	@scripts/deps.sh pkg
	@set -e; d=$(PKG_DIR)/aod; mkdir -p $(PKG_DIR); rm -rf $(PKG_DIR)/.build-deb; \
	if cmp -s Makefile $$d/Makefile && cmp -s debian/rules $$d/debian/rules && [ -d $$d/build-deb ]; then \
		mv $$d/build-deb $(PKG_DIR)/.build-deb; fi; \
	rm -rf $$d; mkdir -p $$d; \
	git ls-files -z -co --exclude-standard | tar --null -T - --ignore-failed-read -cf - | tar -xf - -C $$d; \
	[ ! -d $(PKG_DIR)/.build-deb ] || mv $(PKG_DIR)/.build-deb $$d/build-deb; \
	if [ -n "$(DEB_VERSION)" ]; then \
		printf 'aod (%s) unstable; urgency=medium\n\n  * Built with make deb DEB_VERSION=%s.\n\n -- %s  %s\n\n' \
			"$(DEB_VERSION)" "$(DEB_VERSION)" "$$(dpkg-parsechangelog -l debian/changelog -S Maintainer)" \
			"$$(date -R)" | cat - debian/changelog > $$d/debian/changelog; fi; \
	cd $$d && DEB_BUILD_OPTIONS="parallel=$$(nproc)" dpkg-buildpackage -b -us -uc
	@ls -1 $(PKG_DIR)/*.deb

RPM_TOP      = $(abspath $(PKG_DIR))/rpm
rpm:
	@scripts/deps.sh pkg
	@set -e; mkdir -p $(RPM_TOP)/SOURCES $(PKG_DIR)/rpm-cache; \
	sed -n '/^%build/,/^%install/p' packaging/rpm/aod.spec > $(PKG_DIR)/rpm-cache/build.new; \
	if ! cmp -s Makefile $(PKG_DIR)/rpm-cache/Makefile || \
	   ! cmp -s $(PKG_DIR)/rpm-cache/build.new $(PKG_DIR)/rpm-cache/build; then \
		rm -rf $(PKG_DIR)/build-rpm; cp Makefile $(PKG_DIR)/rpm-cache/; \
		mv $(PKG_DIR)/rpm-cache/build.new $(PKG_DIR)/rpm-cache/build; fi; \
	git ls-files -z -co --exclude-standard | \
		tar --null -T - --ignore-failed-read --transform 's|^|aod-$(VERSION)/|' -czf $(RPM_TOP)/SOURCES/aod-$(VERSION).tar.gz; \
	rpmbuild -bb --nodeps --define "_topdir $(RPM_TOP)" --define "aod_version $(VERSION)" \
		--define "packager $$(sed -n "s/^Maintainer: //p" debian/control)" \
		--define "aod_build_dir $(abspath $(PKG_DIR))/build-rpm" packaging/rpm/aod.spec
	@ls -1 $(RPM_TOP)/RPMS/*/*.rpm
