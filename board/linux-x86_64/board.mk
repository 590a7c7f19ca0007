# linux-x86_64: the default board, a fully static musl binary for any x86-64 Linux.
CC        := musl-gcc
OPT       := -Os
BOARD_DEFS :=
POLLER    := epoll
LDSTATIC  := -static
STRIP     := strip
SANITIZE  :=
DEFAULT_CONFIG := board/linux-x86_64/default.json
