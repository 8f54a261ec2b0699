#!/usr/bin/env bash
# Install and consume, as a user would: `cmake --install` into a fresh prefix, then
#   1. every installed header compiles alone from the prefix (no src/ on the include path),
#   2. examples/quickstart builds as an outside CMake project with find_package(alipaymsg),
#   3. the same main.cpp builds with `pkg-config --cflags --libs alipaymsg`,
#   4. both binaries pass the quickstart test against the simulator (receiver_test QuickstartTest.*).
# Usage: install_test.sh BUILD_DIR SOURCE_DIR CXX_COMPILER [EXTRA_FLAGS]
# (EXTRA_FLAGS: what the library was built with that its users must also use, e.g. -fsanitize=...)
set -euo pipefail
build=$(cd "$1" && pwd)
source=$(cd "$2" && pwd)
cxx="$3"
extra="${4:-}"
work="$build/install-test"
prefix="$work/prefix"
rm -rf "$work"
mkdir -p "$work"

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log" || { cat "$work/install.log"; fail "install"; }
[ -f "$prefix/include/alipaymsg/receiver.h" ] || fail "receiver.h not installed"
for internal in daemon_config.h frame.h register.h; do  # moved under src/ (internals, not API)
  [ ! -e "$prefix/include/alipaymsg/$internal" ] || fail "$internal (internal) was installed"
done
config=$(find "$prefix" -name alipaymsgConfig.cmake | head -1)
[ -n "$config" ] || fail "no alipaymsgConfig.cmake"
[ -f "$(dirname "$config")/alipaymsgConfigVersion.cmake" ] || fail "no alipaymsgConfigVersion.cmake"
pc=$(find "$prefix" -name alipaymsg.pc | head -1)
[ -n "$pc" ] || fail "no alipaymsg.pc"
for program in alipay-msgd alipay-msg alipay-msg-sim; do
  [ -x "$prefix/bin/$program" ] || fail "$program not installed"
done
if grep -rn '#include "' "$prefix/include" | grep -v '#include "alipaymsg/'; then
  fail "an installed header includes something that is not an installed header"
fi

step "the installed headers compile from the prefix alone (no src/, one unit)"
headers="$work/headers.cpp"
for h in "$prefix"/include/alipaymsg/*.h; do echo "#include <alipaymsg/$(basename "$h")>"; done > "$headers"
# One translation unit; each header also first in a unit of its own would cost one compile each.
"$cxx" -std=c++20 -fsyntax-only -Wall -Wextra -Werror -I"$prefix/include" "$headers" || fail "installed headers"

step "examples/quickstart as an outside CMake project (find_package)"
launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S "$source/examples/quickstart" -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$extra" \
  -DCMAKE_EXE_LINKER_FLAGS="$extra" "${launcher[@]}" > "$work/consumer-configure.log" \
  || { cat "$work/consumer-configure.log"; fail "find_package(alipaymsg)"; }
cmake --build "$work/consumer" > "$work/consumer-build.log" || { cat "$work/consumer-build.log"; fail "build against the installed package"; }
grep -q "$source/src" "$work/consumer/build.ninja" && fail "the consumer build points into the source tree"
cmake_binary="$work/consumer/alipaymsg-quickstart"
[ -x "$cmake_binary" ] || fail "no quickstart binary"

step "examples/quickstart with pkg-config"
export PKG_CONFIG_PATH="$(dirname "$pc")"
flags=$(pkg-config --cflags --libs alipaymsg) || fail "pkg-config alipaymsg"
pc_binary="$work/quickstart-pkg-config"
# shellcheck disable=SC2086  # the flags are words
"$cxx" -O1 $extra "$source/examples/quickstart/main.cpp" -o "$pc_binary" $flags \
  || fail "pkg-config build: $cxx main.cpp $flags"

for binary in "$cmake_binary" "$pc_binary"; do
  step "quickstart test against the simulator: $binary"
  ALIPAYMSG_QUICKSTART="$binary" ALIPAYMSG_BIN_DIR="$build/bin" \
    "$build/bin/receiver_test" --gtest_filter='QuickstartTest.*' || fail "quickstart test with $binary"
done
echo "install test: OK"
