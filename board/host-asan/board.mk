# host-asan: the test profile: the host's gcc and glibc with AddressSanitizer and UBSan.
# Unit tests and fuzz-corpus replays run on it; deps are built the same way for it. It uses
# the poll(2) backend, so the tests cover both pollers (the release binary uses epoll).
CC        := gcc
OPT       := -O1 -g -fno-omit-frame-pointer
SANITIZE  := -fsanitize=address,undefined -fno-sanitize-recover=undefined
BOARD_DEFS :=
POLLER    := poll
LDSTATIC  :=
STRIP     := true
DEFAULT_CONFIG := board/linux-x86_64/default.json
