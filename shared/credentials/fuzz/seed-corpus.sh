#!/usr/bin/env bash
# Fills fuzz/corpus/{verify,canonicalize} with seeds: the three conformance vectors, the
# status list, the VC-JWT fixture, and baked PNG/SVG images made with the `badges` binary
# (path in $B, default: the workspace's debug build). Run from anywhere.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
credentials="$(dirname "$here")"
vectors="$credentials/tests/vectors"
B="${B:-${CARGO_TARGET_DIR:-$credentials/../../target}/debug/badges}"
verify="$here/corpus/verify"
canon="$here/corpus/canonicalize"
mkdir -p "$verify" "$canon"
for kind in minimal typical rich; do
    install -m 644 "$vectors/$kind/signed.json" "$verify/$kind-signed.json"
    install -m 644 "$vectors/$kind/signed.json" "$canon/$kind-signed.json"
    install -m 644 "$vectors/$kind/unsigned.json" "$canon/$kind-unsigned.json"
done
install -m 644 "$vectors/status-list.json" "$verify/status-list.json"
install -m 644 "$vectors/did.json" "$canon/did.json"
install -m 644 "$credentials/tests/fixtures/typical.jwt" "$verify/typical.jwt"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# An 8x8 RGB PNG and a plain SVG to bake into.
echo 'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGNoUFDAihiGlgQA2dYwAYiM7QwAAAAASUVORK5CYII=' \
    | base64 -d > "$tmp/base.png"
echo '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="#802020"/></svg>' \
    > "$tmp/base.svg"
if [ -x "$B" ]; then
    "$B" bake --credential "$vectors/typical/signed.json" --image "$tmp/base.png" --out "$verify/typical-baked.png"
    "$B" bake --credential "$vectors/minimal/signed.json" --image "$tmp/base.svg" --out "$verify/minimal-baked.svg"
    "$B" bake --credential "$credentials/tests/fixtures/typical.jwt" --image "$tmp/base.svg" \
        --out "$verify/typical-jwt-baked.svg"
else
    echo "warning: no badges binary at $B (build it with cargo build -p badges); no baked seeds" >&2
fi
# The differential target starts from the same documents.
differential="$here/corpus/canonicalize_differential"
mkdir -p "$differential"
cp "$canon"/* "$differential"/
echo "corpus/verify: $(ls "$verify" | wc -l) files, corpus/canonicalize: $(ls "$canon" | wc -l) files"
