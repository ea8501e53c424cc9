#!/usr/bin/env bash
# Builds the manifest loader's libFuzzer target with AddressSanitizer and runs it.
#
#   scripts/fuzz-manifests.sh [SECONDS] [extra libFuzzer flags...]
#
# Compiles libyaml (the copy inside Yams), CofferModel and CofferManifest from source with
# -sanitize=fuzzer,address into .build-fuzz/, then fuzzes for SECONDS (default 60) starting from
# fuzz/corpus and manifests/. New inputs go to .build-fuzz/corpus; crashes to .build-fuzz/crash-*.
# Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
out=.build-fuzz
swiftc="${SWIFTC:-swiftc}"
clang="${CLANG:-clang}"

swift package resolve >/dev/null
cyaml=.build/checkouts/Yams/Sources/CYaml
if [ ! -d "$cyaml" ]; then
    echo "error: $cyaml not found after 'swift package resolve'" >&2
    exit 1
fi

mkdir -p "$out/obj" "$out/modules" "$out/corpus"

echo "fuzz: compiling libyaml"
for source in "$cyaml"/src/*.c; do
    "$clang" -c -O1 -g -fsanitize=fuzzer-no-link,address -DYAML_DECLARE_STATIC -I "$cyaml/include" \
        "$source" -o "$out/obj/yaml-$(basename "$source" .c).o"
done

swift_flags=(-swift-version 6 -O -g -sanitize=fuzzer,address -parse-as-library -I "$out/modules"
    -Xcc -fmodule-map-file="$cyaml/include/module.modulemap" -Xcc -I"$cyaml/include" -Xcc -DYAML_DECLARE_STATIC)

build_module() {
    local name="$1"
    echo "fuzz: compiling $name"
    "$swiftc" "${swift_flags[@]}" -module-name "$name" -emit-module -emit-module-path "$out/modules/$name.swiftmodule" \
        -wmo -c Sources/"$name"/*.swift -o "$out/obj/$name.o"
}
build_module CofferModel
build_module CofferManifest

echo "fuzz: linking"
"$swiftc" "${swift_flags[@]}" -module-name ManifestFuzz fuzz/ManifestFuzz.swift "$out"/obj/*.o -o "$out/manifest-fuzz"

echo "fuzz: running for ${seconds}s"
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
"$out/manifest-fuzz" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -dict=fuzz/yaml.dict -artifact_prefix="$out/" "$@" "$out/corpus" fuzz/corpus manifests
