#!/usr/bin/env bash
# The Debian 13 leg of the tests (`npm run test:debian13`, and CI's second
# leg): the README's test command in a Debian 13 root (scripts/debian13.sh),
# then the package built here, on Debian 12 against libtorch 1.13, installed
# there beside libtorch 2.6 (test/package/other-libtorch.check.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

node scripts/setup.mjs  # the addon built here, against this machine's libtorch
packed="$(mktemp -d)"
trap 'rm -rf "$packed"' EXIT
file="$(npm pack --ignore-scripts --silent --pack-destination "$packed" | tail -n 1)"

SKIPSTUDIO_DEBIAN13_COPY="$packed/$file" bash scripts/debian13.sh sh -c \
  "npm test && SKIPSTUDIO_OTHER_LIBTORCH_TARBALL=/root/carried/$file node --test --test-reporter=spec dist/test/package/other-libtorch.check.js"
