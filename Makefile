# outpost: `make` builds build/$(BOARD)/outpost; `make run` starts it; `make test` runs the suite.
BOARD ?= linux-x86_64
include board/$(BOARD)/board.mk

B       := build/$(BOARD)
DEPS    := $(B)/deps
HOSTCC  ?= cc
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

CORE    := $(wildcard core/*.c)
PROBES  := $(wildcard probes/*.c)
PLAT    := platform/posix/plat_posix.c platform/posix/poll_$(POLLER).c platform/posix/proc.c \
           platform/posix/alloc_count.c platform/posix/disk.c
WEB     := web/web.c web/api.c
ASSETS  := $(wildcard web/assets/*)
MAIN    := platform/posix/main.c
GEN     := $(B)/gen/default_config.c

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter -Wno-format-truncation \
           -Wno-missing-field-initializers
CFLAGS  := -std=c11 $(OPT) $(WARN) $(SANITIZE) $(BOARD_DEFS) -ffunction-sections \
           -fdata-sections -I$(DEPS)/include -MMD -MP \
           -DMBEDTLS_CONFIG_FILE='"mbedtls/outpost_config.h"'
WRAP    := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
LDFLAGS := $(LDSTATIC) $(SANITIZE) -Wl,--gc-sections $(WRAP)
LIBS    := -L$(DEPS)/lib -lcivetweb -lmbedtls -lpthread

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
ENGINE_OBJS := $(call obj,$(CORE) $(PROBES) $(PLAT)) $(B)/obj/gen/default_config.o \
               $(B)/obj/gen/version.o
APP_OBJS    := $(ENGINE_OBJS) $(call obj,$(WEB) $(MAIN)) $(B)/obj/gen/web_assets.o

.PHONY: all run demo test bench fuzz bench-deps test-deps unit-bins fuzz-bins clean check-size deps \
	FORCE
all: $(B)/outpost

# Third-party code comes from Debian sources, built for this board's toolchain.
$(DEPS)/.stamp: board/mbedtls_config.h tools/deps.sh
	tools/deps.sh build $(DEPS) "$(CC)" "$(SANITIZE) -ffunction-sections -fdata-sections"
deps: $(DEPS)/.stamp

$(B)/obj/%.o: %.c | $(DEPS)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/obj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

build/tools/embed: tools/embed.c | $(DEPS)/.stamp
	@mkdir -p $(dir $@)
	$(HOSTCC) -O2 -o $@ $<

$(GEN): $(DEFAULT_CONFIG) build/tools/embed | $(DEPS)/.stamp
	@mkdir -p $(dir $@)
	build/tools/embed cfg_default_json $< > $@

# the version (git describe) in an object of its own, rewritten only when it changes: a flag on
# every object would leave the ones not rebuilt since the last commit with an older version
$(B)/gen/version.c: FORCE
	@mkdir -p $(dir $@)
	@printf 'const char op_version[] = "%s";\n' '$(VERSION)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

# the dashboard and the OpenAPI document, compiled in: web_<file name with . as _>
$(B)/gen/web_assets.c: $(ASSETS) build/tools/embed
	@mkdir -p $(dir $@)
	for f in $(ASSETS); do build/tools/embed web_$$(basename $$f | tr '.-' '__') $$f; done > $@

$(B)/outpost: $(APP_OBJS) $(DEPS)/.stamp
	$(CC) $(LDFLAGS) -o $@.full $(APP_OBJS) $(LIBS)
	$(STRIP) -o $@ $@.full

check-size: $(B)/outpost
	@size $(B)/outpost.full | tail -1 | awk '{printf "text %d  data %d  bss %d\n", $$1, $$2, $$3}'
	@echo "$(B)/outpost: $$(stat -c %s $(B)/outpost) bytes ($$(file -b $(B)/outpost | cut -d, -f1-5))"

run: $(B)/outpost
	$(B)/outpost run

# every probe kind against local mock targets, no outside network
demo: $(B)/outpost build/tools/outpost-mock build/tools/mockdns
	tools/demo.sh

# ---- tests ----
TEST_BOARD := host-asan
UNIT := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
FUZZ := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
MOCKS := build/tools/mockdns build/tools/mocktcp build/tools/mockhttp build/tools/outpost-mock

ifeq ($(BOARD),$(TEST_BOARD))
# the fault-injection test wraps the socket layer at link time
$(B)/tests/test_faults: LDFLAGS += -Wl,--wrap=plat_sock_send,--wrap=plat_sock_recv
$(B)/tests/%: tests/unit/%.c $(ENGINE_OBJS) tests/unit/t.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(ENGINE_OBJS) $(LDFLAGS) -L$(DEPS)/lib -lmbedtls -lpthread
$(B)/fuzz/%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(ENGINE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< tests/fuzz/replay.c $(ENGINE_OBJS) $(LDFLAGS) -L$(DEPS)/lib \
		-lmbedtls -lpthread
unit-bins: $(addprefix $(B)/tests/,$(UNIT)) $(addprefix $(B)/fuzz/,$(FUZZ))
endif

# make fuzz: every fuzz target under libFuzzer's coverage guidance for FUZZ_SECONDS each (clang,
# board host-fuzz), from its corpus in tests/fuzz/corpus; what it finds lands in build/host-fuzz/.
FUZZ_BOARD   := host-fuzz
FUZZ_SECONDS ?= 60
ifeq ($(BOARD),$(FUZZ_BOARD))
$(B)/libfuzzer/%: tests/fuzz/fuzz_%.c $(ENGINE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(ENGINE_OBJS) $(LDFLAGS) -L$(DEPS)/lib \
		-lmbedtls -lpthread
fuzz-bins: $(addprefix $(B)/libfuzzer/,$(FUZZ))
endif

fuzz:
	tools/deps.sh fuzz-tools
	$(MAKE) BOARD=$(FUZZ_BOARD) fuzz-bins
	tests/fuzz/run.sh build/$(FUZZ_BOARD) $(FUZZ_SECONDS) $(FUZZ)

build/tools/%: tools/%.c
	@mkdir -p $(dir $@)
	$(HOSTCC) -O2 -Wall -o $@ $<

test-deps:
	tools/deps.sh test-tools

test: test-deps
	$(MAKE) BOARD=$(TEST_BOARD) unit-bins
	$(MAKE) BOARD=linux-x86_64 all $(MOCKS)
	tests/run.sh

# the mock targets on civetweb (with WebSocket), static like the appliance
# ECDSA verification is hot in every TLS handshake: -O2 for it even in an -Os build
$(B)/obj/core/p256.o: CFLAGS += -O2

# (our mbedTLS build takes its ECDSA verification from core/p256.c: whatever links it links that)
build/tools/outpost-mock: tools/outpost-mock.c $(B)/obj/core/p256.o $(DEPS)/.stamp
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall $(LDSTATIC) -I$(DEPS)/include -o $@ $< $(B)/obj/core/p256.o -L$(DEPS)/lib \
		-lcivetweb_ws -lmbedtls -lpthread

build/tools/bareloop: tests/bench/bareloop.c $(B)/obj/core/p256.o $(DEPS)/.stamp
	@mkdir -p $(dir $@)
	$(CC) -O2 $(LDSTATIC) -DMBEDTLS_CONFIG_FILE='"mbedtls/outpost_config.h"' -I$(DEPS)/include \
		-o $@ $< $(B)/obj/core/p256.o -L$(DEPS)/lib -lmbedtls

bench-deps:
	tools/deps.sh bench-tools

bench: bench-deps $(B)/outpost $(MOCKS) build/tools/bareloop
	cd tests/bench && python3 bench.py

clean:
	rm -rf build/linux-x86_64 build/host-asan build/tools

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
