#!/usr/bin/env node
// Makes a checkout ready to run, installing only what is missing: the Debian
// packages (libtorch, OpenBLAS, the Fashion-MNIST data), the npm
// dependencies, the native addon and the TypeScript build. `npm start`,
// `npm test` and `npm run bench` run it first; when everything is in place it
// only compares a few timestamps and hashes.
//
//   node scripts/setup.mjs [--test] [--bench] [--rebuild]
//     --test     also install what the tests check against: python3-torch (live exchanges with PyTorch)
//                and chromium (the dashboard's real-browser test drives Debian's, never a downloaded one)
//     --bench    also install python3-torch, the PyTorch the benchmarks compare with, and
//                python3-setuptools, which torch.compile needs on Debian 13's PyTorch 2.6
//     --rebuild  rebuild the addon and the TypeScript even if they look current
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDON, LIBTORCH_PACKAGES, buildAddon } from './addon.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const rebuild = args.has('--rebuild');

function log(message) {
  console.error(`[setup] ${message}`);
}

function run(command, argv, options = {}) {
  const result = spawnSync(command, argv, { stdio: 'inherit', cwd: root, ...options });
  if (result.status !== 0) {
    log(`failed: ${command} ${argv.join(' ')}`);
    process.exit(result.status ?? 1);
  }
}

// ---- Debian packages -------------------------------------------------------

function debianPackages() {
  // fonts-dejavu-core: the report's charts are rasterised with real fonts.
  // libgloo-dev: the headers ProcessGroupGloo.hpp includes (data-parallel training).
  const libtorch = process.env.LIBTORCH ? LIBTORCH_PACKAGES.filter((pkg) => pkg !== 'libtorch-dev') : LIBTORCH_PACKAGES;
  const wanted = [...libtorch, 'dataset-fashion-mnist', 'fonts-dejavu-core'];
  if (args.has('--bench') || args.has('--test')) wanted.push('python3-torch');
  if (args.has('--bench')) wanted.push('python3-setuptools');
  if (args.has('--test')) wanted.push('chromium');
  return wanted;
}

function isInstalled(pkg) {
  try {
    const status = execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], { stdio: ['ignore', 'pipe', 'ignore'] });
    return status.toString().includes('install ok installed');
  } catch {
    return false;
  }
}

function ensureDebianPackages() {
  if (!existsSync('/usr/bin/dpkg-query')) {
    log('not a Debian system: install libtorch (set LIBTORCH), OpenBLAS and Fashion-MNIST yourself');
    return;
  }
  const missing = debianPackages().filter((pkg) => !isInstalled(pkg));
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    log(`missing Debian packages: ${missing.join(', ')}. Run as root:\n\n  sudo sh -c '${command}'\n`);
    process.exit(1);
  }
  log(`installing Debian packages: ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update'], { env });
  run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env });
}

// ---- npm dependencies --------------------------------------------------------

function fileHash(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function ensureNodeModules() {
  const stamp = join(root, 'node_modules/.skipstudio-lock-hash');
  const lockHash = fileHash(join(root, 'package-lock.json'));
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === lockHash) return;
  log('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts']);
  writeFileSync(stamp, lockHash);
}

// ---- builds --------------------------------------------------------------------

function newestMtime(paths) {
  let newest = 0;
  const visit = (path) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) visit(join(path, entry));
    } else {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const path of paths) visit(join(root, path));
  return newest;
}

function stampIsCurrent(stampPath, sources, key) {
  if (rebuild || !existsSync(stampPath)) return false;
  if (readFileSync(stampPath, 'utf8') !== key) return false;
  return statSync(stampPath).mtimeMs >= newestMtime(sources);
}

function writeStamp(stampPath, key) {
  mkdirSync(dirname(stampPath), { recursive: true });
  writeFileSync(stampPath, key);
}

function ensureNativeAddon() {
  const stamp = join(root, 'build/.skipstudio-stamp');
  const key = `LIBTORCH=${process.env.LIBTORCH ?? ''}`;
  const sources = ['native', 'binding.gyp', 'scripts/libtorch-paths.mjs'];
  if (existsSync(join(root, ADDON)) && stampIsCurrent(stamp, sources, key)) return;
  log('building the native addon (node-gyp; about a minute)');
  const status = buildAddon(root, join(root, 'node_modules/node-gyp/bin/node-gyp.js'));
  if (status !== 0) {
    log('failed: node-gyp rebuild');
    process.exit(status);
  }
  writeStamp(stamp, key);
}

function ensureTypeScript() {
  const stamp = join(root, 'dist/.skipstudio-stamp');
  const sources = ['src', 'test', 'bench', 'examples', 'tsconfig.json'];
  if (existsSync(join(root, 'dist/src/index.js')) && stampIsCurrent(stamp, sources, 'tsc')) return;
  log('compiling TypeScript');
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', root]);
  writeStamp(stamp, 'tsc');
}

ensureDebianPackages();
ensureNodeModules();
ensureNativeAddon();
ensureTypeScript();
