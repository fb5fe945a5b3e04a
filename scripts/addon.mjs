// The native addon: where it lives, whether it loads, how to build it, and,
// when it does not load, why and what fixes it. Shared by scripts/setup.mjs
// (a checkout), scripts/install.mjs (the package installed into another
// project) and the library itself (src/tensor/native.ts, on a failed load).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** The built addon, relative to the package root. */
export const ADDON = 'build/Release/skipstudio_native.node';

/** The Debian packages the addon builds and links against. */
export const LIBTORCH_PACKAGES = ['libtorch-dev', 'libopenblas0-openmp', 'libgloo-dev'];

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

// native/src/runtime.cc writes this, then the version, then ';' into the addon.
const BUILT_AGAINST = 'skipstudio-built-against-libtorch=';

/** The libtorch version the addon file at `path` was built against, read from its bytes (it need not load); undefined if unrecorded. */
export function addonBuiltAgainst(path) {
  if (!existsSync(path)) return undefined;
  const bytes = readFileSync(path);
  const at = bytes.indexOf(BUILT_AGAINST);
  if (at < 0) return undefined;
  const start = at + BUILT_AGAINST.length;
  return bytes.subarray(start, bytes.indexOf(';', start)).toString('latin1');
}

/** The folders where a libtorch's libraries are looked for: $LIBTORCH/lib, then the system's library folders. */
function libraryFolders(env) {
  const system = ['/usr/lib', '/usr/local/lib'];
  for (const dir of system.slice()) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir)) if (entry.endsWith('-linux-gnu')) system.push(join(dir, entry));
  }
  return env.LIBTORCH ? [join(env.LIBTORCH, 'lib'), ...system] : system;
}

/**
 * The libtorch libraries on this machine: each libtorch_cpu.so.X.Y (Debian's
 * versioned name) or unversioned libtorch_cpu.so (a pip or CUDA tree) found.
 */
export function libtorchLibraries(env = process.env) {
  const found = [];
  for (const dir of libraryFolders(env)) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir)) {
      const match = /^libtorch_cpu\.so(?:\.(\d+\.\d+))?$/.exec(entry);
      if (match) found.push({ version: match[1], path: join(dir, entry) });
    }
  }
  // libtorch_cpu.so beside a versioned one is Debian's dev link: the versioned name says more.
  const versionedDirs = new Set(found.filter((l) => l.version).map((l) => dirname(l.path)));
  return found.filter((l) => l.version || !versionedDirs.has(dirname(l.path)));
}

/** Whether the libtorch headers the addon builds against are here. */
export function libtorchHeaders(env = process.env) {
  return existsSync(env.LIBTORCH ? join(env.LIBTORCH, 'include/torch') : '/usr/include/torch');
}

/**
 * What a user reads when the addon at `addon` does not load: why (the
 * loader's message; the libtorch it was built against and the ones here) and
 * the commands that fix it. Pure: every fact about the machine is an argument.
 *   facts: { addon, error, builtAgainst?, libraries: [{version?, path}], headers, installed, libtorch? }
 *   installed: the addon belongs to a package inside a project's node_modules (else a checkout)
 *   libtorch: $LIBTORCH, where set (its tree is what the build uses, not Debian's packages)
 */
export function addonLoadMessage({ addon, error, builtAgainst, libraries, headers, installed, libtorch }) {
  const wanted = builtAgainst ? `libtorch ${builtAgainst}` : 'a libtorch it does not record';
  const here =
    libraries.length === 0
      ? 'this machine has no libtorch'
      : `this machine has ${libraries.map((l) => `libtorch ${l.version ?? '(unversioned)'} (${l.path})`).join(', ')}`;
  const failed = [`skipstudio: the native addon ${addon} does not load:`, `  ${String(error).split('\n')[0]}`];
  if (libtorch && !headers) {
    return [
      ...failed,
      `LIBTORCH=${libtorch} has no include/torch to rebuild it against: point LIBTORCH at a libtorch tree (with include/ and lib/),`,
      "or unset it to use Debian's libtorch-dev.",
    ].join('\n');
  }
  const packages = !libtorch && (!headers || libraries.length === 0);
  const commands = [
    ...(packages ? [`apt-get update && apt-get install -y ${LIBTORCH_PACKAGES.join(' ')}   # as root`] : []),
    ...(installed
      ? [
          'npm install-scripts approve skipstudio   # npm 11 and later: lets npm run its install script',
          'npm rebuild skipstudio --foreground-scripts',
        ]
      : ['npm run build']),
  ];
  return [
    ...failed,
    `It was built against ${wanted}; ${here}.`,
    `Rebuild it against this machine's libtorch (about a minute), in ${installed ? "your project's folder" : 'the checkout'}:`,
    ...commands.map((command) => `  ${command}`),
    `Another libtorch (a PyTorch 2.6 or later install, a CUDA build): set LIBTORCH to its folder (with include/ and lib/) for the ${installed ? 'rebuild' : 'build'}.`,
  ].join('\n');
}

/** addonLoadMessage with this machine's facts, for the addon at `addon` that failed to load with `error`. */
export function explainAddonLoad(addon, error) {
  const packageRoot = dirname(dirname(dirname(addon)));
  return addonLoadMessage({
    addon,
    error: error instanceof Error ? error.message : String(error),
    builtAgainst: addonBuiltAgainst(addon),
    libraries: libtorchLibraries(),
    headers: libtorchHeaders(),
    installed: basename(dirname(packageRoot)) === 'node_modules',
    libtorch: process.env.LIBTORCH,
  });
}
