#!/usr/bin/env bash
# `make install DESTDIR=...` stages the CLI, libfloe (shared with a SONAME,
# static), floe.h and floe.pc; a program built against the staged header
# through pkg-config links (shared and static) and runs.
set -euo pipefail
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
SRC=${FLOE_SRC:?set FLOE_SRC to the source tree}
BUILD=${FLOE_BUILD:?set FLOE_BUILD to the build directory}
CC=${FLOE_CC:-cc}
STAGE=$T/stage
PREFIX=/opt/floe-test

# (ctest may run under an outer make: its jobserver is not ours)
install_to() {
  run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory \
    -C "$SRC" install BUILD="$BUILD" "$@"
  [ "$rc" = 0 ] || fail "make install $* exited $rc: $(tail -20 "$T/out") $(tail -20 "$T/err")"
}
install_to PREFIX="$PREFIX" DESTDIR="$STAGE"
P=$STAGE$PREFIX
for f in bin/floe include/floe/floe.h lib/libfloe.a lib/pkgconfig/floe.pc; do
  [ -f "$P/$f" ] || fail "make install did not install $f"
done
[ -L "$P/lib/libfloe.so" ] || fail "no lib/libfloe.so link"
soname=$(objdump -p "$P/lib/libfloe.so" | awk '/SONAME/ {print $2}')
[ "$soname" = libfloe.so.0 ] || fail "SONAME is '$soname', want libfloe.so.0"
[ -f "$P/lib/$soname" ] || fail "no $soname installed"
grep -qx "prefix=$PREFIX" "$P/lib/pkgconfig/floe.pc" || fail "floe.pc prefix: $(cat "$P/lib/pkgconfig/floe.pc")"
# the public API is the floe_* symbols, nothing else
others=$(nm -D --defined-only "$P/lib/libfloe.so" | awk '$3 !~ /^floe_/ {print $3}')
[ -z "$others" ] || fail "libfloe.so exports non-floe symbols: $others"
# (grep -q under pipefail can fail the pipe with SIGPIPE: match on captured text)
syms=$(nm -D --defined-only "$P/lib/libfloe.so")
grep -q ' floe_version$' <<<"$syms" || fail "floe_version not exported"
expect_rc 0 "$P/bin/floe" --version
grep -qE '^floe [0-9]+\.[0-9]+\.[0-9]+$' "$T/out" || fail "installed floe --version: $(cat "$T/out")"

cat >"$T/hello.c" <<'C'
#include <floe/floe.h>
#include <stdio.h>
int main(void) {
  uint32_t v = floe_version();
  if (v != FLOE_VERSION_NUMBER) {
    printf("header %u, library %u\n", FLOE_VERSION_NUMBER, v);
    return 1;
  }
  printf("floe %u.%u.%u: %s\n", v >> 24, (v >> 16) & 0xff, v & 0xffff,
         floe_strerror(FLOE_ECORRUPT));
  return 0;
}
C
# the staged floe.pc, relocated to where DESTDIR put the files (a
# --define-variable would rewrite the other packages' prefixes too)
mkdir "$T/pc"
sed "s|^prefix=.*|prefix=$P|" "$P/lib/pkgconfig/floe.pc" >"$T/pc/floe.pc"
export PKG_CONFIG_PATH=$T/pc
pc() { pkg-config "$@" floe; }
[ "$(pc --modversion)" = "$(sed -n 's/^floe //p' "$T/out")" ] || fail "floe.pc version differs from floe --version"
SAN=()
if [ "${FLOE_SANITIZE:-OFF}" = ON ]; then SAN=(-fsanitize=address,undefined); fi
want="floe $(pc --modversion): corrupt data"

# shellcheck disable=SC2046
"$CC" -std=c11 -Wall -Wextra -Werror "${SAN[@]}" $(pc --cflags) "$T/hello.c" \
  -o "$T/hello_shared" $(pc --libs) || fail "cannot build against the shared library"
LD_LIBRARY_PATH=$P/lib "$T/hello_shared" >"$T/got" || fail "shared program failed: $(cat "$T/got")"
[ "$(cat "$T/got")" = "$want" ] || fail "shared program printed '$(cat "$T/got")'"
deps_seen=$(LD_LIBRARY_PATH=$P/lib ldd "$T/hello_shared")
grep -qF "libfloe.so.0 => $P/lib/libfloe.so.0" <<<"$deps_seen" || fail "not linked to the staged libfloe.so.0: $deps_seen"

# static libfloe.a against the shared system libraries: the private
# dependencies floe.pc names (packages and plain libraries) suffice
deps=$(pc --print-requires-private | awk '{print $1}')
# shellcheck disable=SC2046,SC2086
"$CC" -std=c11 "${SAN[@]}" $(pc --cflags) "$T/hello.c" -o "$T/hello_static" \
  "$P/lib/libfloe.a" $(pkg-config --libs $deps) \
  $(sed -n 's/^Libs.private: //p' "$T/pc/floe.pc") ||
  fail "cannot build against the static library"
"$T/hello_static" >"$T/got" || fail "static program failed"
[ "$(cat "$T/got")" = "$want" ] || fail "static program printed '$(cat "$T/got")'"
# PREFIX defaults to /usr/local
install_to DESTDIR="$T/stage2"
[ -x "$T/stage2/usr/local/bin/floe" ] || fail "default PREFIX is not /usr/local"
grep -qx "prefix=/usr/local" "$T/stage2/usr/local/lib/pkgconfig/floe.pc" || fail "default floe.pc prefix"
echo "ok: staged install in $P works (shared + static)"
