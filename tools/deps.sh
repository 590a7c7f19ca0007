#!/usr/bin/env bash
# deps.sh: install build tools from Debian, fetch pinned sources with apt-get source and build
# them for one board's toolchain. Idempotent: every step is skipped when its stamp exists.
#
#   tools/deps.sh tools                     install the Debian packages the build needs
#   tools/deps.sh test-tools                also those the test suite needs
#   tools/deps.sh bench-tools               also those `make bench` compares with
#   tools/deps.sh fuzz-tools                clang and its libFuzzer runtime, for `make fuzz`
#   tools/deps.sh build OUT CC "CFLAGS"     build mbedTLS and civetweb into OUT (lib/, include/)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
src="$top/build/src"
mbedtls_want=2.28
civetweb_want=1.15

say() { printf 'deps: %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_update() {
	[ "$apt_updated" = 1 ] && return 0
	say "apt-get update"
	as_root apt-get update -qq >&2
	apt_updated=1
}

# need PACKAGE... : install the packages that dpkg does not list as installed.
need() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} = 0 ] && return 0
	apt_update
	say "apt-get install ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >&2
}

# Source packages need a deb-src entry; derive one from the machine's own deb entries.
ensure_deb_src() {
	if apt-get source --print-uris mbedtls >/dev/null 2>&1; then return 0; fi
	local f=/etc/apt/sources.list.d/outpost-src.sources
	say "adding deb-src entries ($f)"
	if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null &&
		grep -q '^Types:.*deb' /etc/apt/sources.list.d/debian.sources 2>/dev/null; then
		sed -n '/^Types:/,/^$/p' /etc/apt/sources.list.d/debian.sources |
			sed 's/^Types:.*/Types: deb-src/' | as_root tee "$f" >/dev/null
	else
		grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | sed 's/^deb /deb-src /' |
			as_root tee /etc/apt/sources.list.d/outpost-src.list >/dev/null
	fi
	apt_updated=0
	apt_update
}

# fetch NAME WANT: unpack the Debian source of NAME into build/src/NAME, check its version.
fetch() {
	local name=$1 want=$2 dir="$src/$1"
	[ -f "$dir/.stamp" ] && return 0
	ensure_deb_src
	rm -rf "$dir" "$src/dl-$name"
	mkdir -p "$src/dl-$name"
	say "apt-get source $name"
	(cd "$src/dl-$name" && apt-get source -qq "$name" >&2 2>/dev/null)
	local d
	d=$(find "$src/dl-$name" -mindepth 1 -maxdepth 1 -type d | head -1)
	local ver
	ver=$(basename "$d" | sed "s/^$name-//")
	case "$ver" in
	"$want"*) ;;
	*) say "$name: got version $ver, want $want.x"; exit 1 ;;
	esac
	mv "$d" "$dir"
	rm -rf "$src/dl-$name"
	echo "$ver" >"$dir/.stamp"
}

cmd_tools() {
	need build-essential musl-tools dpkg-dev xz-utils libjsmn-dev file python3 ca-certificates
}

cmd_test_tools() {
	cmd_tools
	need prometheus openssl chromium slapd mariadb-server tinyproxy systemd e2fsprogs mount
	command -v node >/dev/null && command -v npm >/dev/null || need nodejs npm
	# test-only npm packages (playwright-core drives Debian's chromium; no browser download)
	local npm_dir="$top/build/npm" pkg="$top/tests/browser/package.json"
	if ! cmp -s "$pkg" "$npm_dir/package.json" || [ ! -d "$npm_dir/node_modules" ]; then
		mkdir -p "$npm_dir"
		cp "$pkg" "$npm_dir/package.json"
		say "npm install (tests/browser/package.json)"
		(cd "$npm_dir" && npm install --no-audit --no-fund --loglevel=error >&2)
	fi
}

cmd_bench_tools() {
	cmd_test_tools
	need nginx-light prometheus-blackbox-exporter tcpdump
}

cmd_fuzz_tools() {
	cmd_tools
	need clang
	# libFuzzer's runtime is only a recommendation of clang, in a package named by its version
	need "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
}

# build OUT CC CFLAGS: compile mbedTLS (our config) and civetweb (no CGI/files/Lua, mbedTLS)
# into OUT/lib, headers into OUT/include. The stamp records the inputs.
cmd_build() {
	local out=$1 cc=$2 cflags=$3
	local conf="$top/board/mbedtls_config.h"
	local key
	key=$(printf '%s\n%s\n' "$cc" "$cflags" | cat - "$conf" "$0" | sha256sum | cut -c1-16)
	[ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$key" ] && return 0
	cmd_tools
	fetch mbedtls "$mbedtls_want"
	fetch civetweb "$civetweb_want"
	rm -rf "$out"
	mkdir -p "$out/lib" "$out/include" "$out/obj/mbedtls" "$out/obj/civetweb"
	cp -r "$src/mbedtls/include/mbedtls" "$src/mbedtls/include/psa" "$out/include/"
	cp -r "$src/mbedtls/3rdparty/everest/include/everest" "$out/include/"
	cp "$conf" "$out/include/mbedtls/outpost_config.h"
	cp /usr/include/jsmn.h "$out/include/"
	cp "$src/civetweb/include/civetweb.h" "$out/include/"

	local mdef="-DMBEDTLS_CONFIG_FILE=\"mbedtls/outpost_config.h\""
	say "building mbedTLS $(cat "$src/mbedtls/.stamp") with $cc"
	# The crypto is hot on weak CPUs: -O3 for it even when the rest of the binary is -Os.
	local ev="$src/mbedtls/3rdparty/everest"
	local inc="-I'$out/include' -I'$ev/include' -I'$ev/include/everest' -I'$ev/include/everest/kremlib' -I'$src/mbedtls/library'"
	ls "$src"/mbedtls/library/*.c "$ev/library/everest.c" "$ev/library/x25519.c" \
		"$ev/library/Hacl_Curve25519_joined.c" | xargs -P "$(nproc)" -I{} sh -c \
		"$cc $cflags -O3 $inc '$mdef' -c {} -o '$out/obj/mbedtls/'\$(basename {} .c).o"
	ar rcs "$out/lib/libmbedtls.a" "$out"/obj/mbedtls/*.o

	say "building civetweb $(cat "$src/civetweb/.stamp") with $cc"
	# a 200 ms socket wait quantum (not 2 s): a stop does not wait on idle keep-alive clients
	$cc $cflags -Os -Wno-cpp -I"$out/include" -I"$src/civetweb/include" "$mdef" \
		-DUSE_MBEDTLS -DNO_CGI -DNO_FILES -DNO_CACHING -DUSE_IPV6 -DSOCKET_TIMEOUT_QUANTUM=200 \
		-c "$src/civetweb/src/civetweb.c" -o "$out/obj/civetweb/civetweb.o"
	ar rcs "$out/lib/libcivetweb.a" "$out/obj/civetweb/civetweb.o"
	# the mock targets in tools/ also serve WebSocket; the appliance does not need it
	$cc $cflags -Os -Wno-cpp -I"$out/include" -I"$src/civetweb/include" "$mdef" \
		-DUSE_MBEDTLS -DNO_CGI -DNO_FILES -DNO_CACHING -DUSE_IPV6 -DSOCKET_TIMEOUT_QUANTUM=200 \
		-DUSE_WEBSOCKET -c "$src/civetweb/src/civetweb.c" -o "$out/obj/civetweb/civetweb_ws.o"
	ar rcs "$out/lib/libcivetweb_ws.a" "$out/obj/civetweb/civetweb_ws.o"
	rm -rf "$out/obj"
	echo "$key" >"$out/.stamp"
}

case "${1:-}" in
tools) cmd_tools ;;
test-tools) cmd_test_tools ;;
bench-tools) cmd_bench_tools ;;
fuzz-tools) cmd_fuzz_tools ;;
build) shift; cmd_build "$@" ;;
*) echo "usage: $0 tools|test-tools|bench-tools|fuzz-tools|build OUT CC CFLAGS" >&2; exit 2 ;;
esac
