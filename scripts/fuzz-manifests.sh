#!/usr/bin/env bash
# Builds the manifest loader's libFuzzer target with AddressSanitizer and runs it.
#
#   scripts/fuzz-manifests.sh [SECONDS] [extra libFuzzer flags...]
#
# Compiles CofferYAML, CofferModel, CofferRules and CofferManifest from source with
# -sanitize=fuzzer,address into .build-fuzz/, then fuzzes for SECONDS (default 60) starting from fuzz/corpus
# and manifests/. New inputs go to .build-fuzz/corpus; crashes to .build-fuzz/crash-*. Not part of CI. ICU
# (libicu-dev, for CofferRules' time zones) is the system's, not instrumented.
#
# libyaml is the system's (libyaml-dev), not instrumented. To fuzz an instrumented libyaml too, point
# LIBYAML_SRC at a libyaml source tree (`apt-get source libyaml`, or a checkout of yaml/libyaml at the
# system's version): its src/*.c are then compiled with the sanitizers and linked in its place.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
out=.build-fuzz
swiftc="${SWIFTC:-swiftc}"
clang="${CLANG:-clang}"

if ! pkg-config --exists yaml-0.1; then
    echo "error: libyaml not found by pkg-config (install libyaml-dev, see scripts/setup.sh)" >&2
    exit 1
fi
if ! pkg-config --exists icu-i18n; then
    echo "error: ICU not found by pkg-config (install libicu-dev, see scripts/setup.sh)" >&2
    exit 1
fi

rm -rf "$out/obj"
mkdir -p "$out/obj" "$out/modules" "$out/corpus"

# CICU is a C target: its module map names its header, and its one source file is compiled here.
cat > "$out/modules/CICU.modulemap" <<MAP
module CICU {
    header "$PWD/Sources/CICU/include/CICU.h"
    export *
}
MAP
"$clang" -c -O1 -g -fsanitize=fuzzer-no-link,address -ISources/CICU/include Sources/CICU/CICU.c -o "$out/obj/CICU.o"

swift_flags=(-swift-version 6 -O -g -sanitize=fuzzer,address -parse-as-library -I "$out/modules"
    -Xcc -fmodule-map-file=Sources/CLibYAML/module.modulemap -Xcc -ISources/CLibYAML
    -Xcc -fmodule-map-file="$out/modules/CICU.modulemap")
libyaml=(-lyaml)
if [ -n "${LIBYAML_SRC:-}" ]; then
    echo "fuzz: compiling libyaml from $LIBYAML_SRC"
    for source in "$LIBYAML_SRC"/src/*.c; do
        "$clang" -c -O1 -g -fsanitize=fuzzer-no-link,address -DYAML_DECLARE_STATIC -DYAML_VERSION_MAJOR=0 \
            -DYAML_VERSION_MINOR=2 -DYAML_VERSION_PATCH=5 -DYAML_VERSION_STRING='"0.2.5"' \
            -I "$LIBYAML_SRC/include" "$source" -o "$out/obj/yaml-$(basename "$source" .c).o"
    done
    swift_flags+=(-Xcc -I"$LIBYAML_SRC/include" -Xcc -DYAML_DECLARE_STATIC)
    libyaml=()
fi

build_module() {
    local name="$1"
    echo "fuzz: compiling $name"
    "$swiftc" "${swift_flags[@]}" -module-name "$name" -emit-module -emit-module-path "$out/modules/$name.swiftmodule" \
        -wmo -c Sources/"$name"/*.swift -o "$out/obj/$name.o"
}
build_module CofferYAML
build_module CofferModel
build_module CofferRules
build_module CofferManifest

echo "fuzz: linking"
"$swiftc" "${swift_flags[@]}" -module-name ManifestFuzz fuzz/ManifestFuzz.swift "$out"/obj/*.o "${libyaml[@]}" \
    $(pkg-config --libs icu-i18n) \
    -o "$out/manifest-fuzz"

echo "fuzz: running for ${seconds}s"
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
"$out/manifest-fuzz" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -dict=fuzz/yaml.dict -artifact_prefix="$out/" "$@" "$out/corpus" fuzz/corpus manifests
