# host-fuzz: `make fuzz`: clang with libFuzzer's coverage instrumentation, AddressSanitizer and
# UBSan, on the host's glibc. The engine is built as on host-asan; only the fuzz targets link
# libFuzzer's driver.
CC        := clang
OPT       := -O1 -g -fno-omit-frame-pointer
SANITIZE  := -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined
# clang does not know gcc's -Wno-format-truncation
BOARD_DEFS := -Wno-unknown-warning-option
POLLER    := poll
LDSTATIC  :=
STRIP     := true
DEFAULT_CONFIG := board/linux-x86_64/default.json
