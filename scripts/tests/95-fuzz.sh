#!/usr/bin/env bash
# Fuzzes each reader of untrusted bytes for a bounded time (scripts/fuzz, docs/fuzzing.md): 30
# seconds a target unless MAILKEEP_FUZZ_SECONDS says otherwise. A crash fails the test and
# leaves its input in fixtures/fuzz/crashers/TARGET/ to be fixed and kept as a regression case.
source "$(dirname "$0")/../lib/testlib.sh"

# libFuzzer's runtime comes with the Swift toolchain on Linux.
toolchain_lib="$(cd "$(dirname "$(readlink -f "$(command -v swiftc)")")/../lib" && pwd)"
runtime="$(find "$toolchain_lib" -name 'libclang_rt.fuzzer-*.a' -print -quit)"
require_or_skip "${runtime:-$toolchain_lib/clang/libclang_rt.fuzzer.a}" || exit 0
"$REPO/scripts/fuzz" all "${MAILKEEP_FUZZ_SECONDS:-30}"
