// The native addon: where it lives, whether it loads, and how to build it.
// Shared by scripts/setup.mjs (a checkout) and scripts/install.mjs (the
// package installed into another project).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';

/** The built addon, relative to the package root. */
export const ADDON = 'build/Release/skipstudio_native.node';

/** Whether the addon at `root` loads in a fresh Node process (it links libtorch: a different libtorch fails here). */
export function addonLoads(root) {
  const path = join(root, ADDON);
  if (!existsSync(path)) return false;
  return spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path)})`], { stdio: 'ignore' }).status === 0;
}

/**
 * Builds the addon at `root` with node-gyp (`nodeGyp`: its script), against
 * the running Node's own headers where it ships them, since node-gyp would
 * otherwise download them (there may be no internet). Returns the exit status.
 */
export function buildAddon(root, nodeGyp) {
  const gypArgs = ['rebuild', '-j', String(availableParallelism())];
  const prefix = process.env.npm_config_nodedir ?? dirname(dirname(process.execPath));
  if (existsSync(join(prefix, 'include/node/node_api.h'))) gypArgs.push(`--nodedir=${prefix}`);
  return spawnSync(process.execPath, [nodeGyp, ...gypArgs], { stdio: 'inherit', cwd: root }).status ?? 1;
}
