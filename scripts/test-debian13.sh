#!/usr/bin/env bash
# The Debian 13 leg of the tests (`npm run test:debian13`, and CI's second
# leg): the README's test command in a Debian 13 root (scripts/debian13.sh);
# then a package built against one libtorch installed where the other is
# (test/package/other-libtorch.check.ts), both ways: the one packed here
# (Debian 12, libtorch 1.13) installed there with Debian 13's npm, and the
# one packed there (libtorch 2.6) installed here, where npm 11 asks for its
# install script to be approved.
set -euo pipefail
cd "$(dirname "$0")/.."

# The check, given the tarball in SKIPSTUDIO_OTHER_LIBTORCH_TARBALL; run there and here.
check='node --test --test-reporter=spec dist/test/package/other-libtorch.check.js'

node scripts/setup.mjs  # the addon built here, against this machine's libtorch
here="$(mktemp -d)"
there="$(mktemp -d)"
trap 'rm -rf "$here" "$there"' EXIT
file="$(npm pack --ignore-scripts --silent --pack-destination "$here" | tail -n 1)"

SKIPSTUDIO_DEBIAN13_COPY="$here/$file" SKIPSTUDIO_DEBIAN13_OUT="$there" bash scripts/debian13.sh sh -c \
  "npm test && SKIPSTUDIO_OTHER_LIBTORCH_TARBALL=/root/carried/$file $check && npm pack --ignore-scripts --silent --pack-destination /root/out"
echo "[debian13] the package packed in Debian 13 (libtorch 2.6), installed here"
SKIPSTUDIO_OTHER_LIBTORCH_TARBALL="$there/$file" $check
