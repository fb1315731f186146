#!/usr/bin/env bash
# Refreshes the vendored uPlot in ui/assets/vendor from the npm registry:
# a pinned version whose tarball digest is checked, so the committed files
# can be reproduced. `cargo build` never runs this.
set -euo pipefail
VERSION=1.6.32
SHA256=4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d
cd "$(dirname "$0")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "uplot@$VERSION" >/dev/null)
echo "$SHA256  $tmp/uplot-$VERSION.tgz" | sha256sum -c --quiet
tar -xzf "$tmp/uplot-$VERSION.tgz" -C "$tmp"
cp "$tmp/package/dist/uPlot.iife.min.js" "$tmp/package/dist/uPlot.min.css" assets/vendor/
cp "$tmp/package/LICENSE" assets/vendor/uPlot.LICENSE.txt
echo "uPlot $VERSION vendored"
