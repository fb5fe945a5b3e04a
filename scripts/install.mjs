#!/usr/bin/env node
// The package's install step (npm runs it in the project that installs
// skipstudio): the package carries its addon built against Debian's
// libtorch-dev; where that one does not load (another libtorch, set with
// LIBTORCH), it is rebuilt here with npm's own node-gyp.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDON, LIBTORCH_PACKAGES, addonLoads, buildAddon, libtorchHeaders } from './addon.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (!addonLoads(root)) {
  if (!libtorchHeaders()) {
    console.error(
      `skipstudio: ${ADDON} does not load and there are no libtorch headers to build it against: ` +
        `install it with\n  apt-get update && apt-get install -y ${LIBTORCH_PACKAGES.join(' ')}\nor set LIBTORCH to a libtorch tree, then install skipstudio again`,
    );
    process.exit(1);
  }
  const nodeGyp = process.env.npm_config_node_gyp;
  if (nodeGyp === undefined) {
    console.error(
      `skipstudio: ${ADDON} does not load and npm's node-gyp is not known (npm_config_node_gyp): install libtorch-dev, or run node-gyp rebuild in ${root}`,
    );
    process.exit(1);
  }
  console.error(`skipstudio: ${ADDON} does not load here; building it against this machine's libtorch (about a minute)`);
  process.exit(buildAddon(root, nodeGyp));
}
