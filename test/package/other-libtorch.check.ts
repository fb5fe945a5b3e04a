/**
 * A package built against one libtorch, installed where another one is (run
 * by `npm run test:debian13`: the tarball built on Debian 12 against 1.13,
 * installed in the Debian 13 root with 2.6). Installed without its install
 * script, as npm 11 installs a dependency whose script is not approved, the
 * first import says why it fails and what to run; the command it gives is
 * run, and then an example compiled against the package runs.
 *
 *   SKIPSTUDIO_OTHER_LIBTORCH_TARBALL=FILE node --test dist/test/package/other-libtorch.check.js
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { buildInfo } from '../../src/index.js';
import { compileAndRunExample } from './project.js';

const tarball = process.env.SKIPSTUDIO_OTHER_LIBTORCH_TARBALL;
if (!tarball) throw new Error('set SKIPSTUDIO_OTHER_LIBTORCH_TARBALL to a skipstudio tarball built against another libtorch');
const project = mkdtempSync(join(tmpdir(), 'skipstudio-other-libtorch-'));
after(() => rmSync(project, { recursive: true, force: true }));

function sh(command: string) {
  return spawnSync('sh', ['-c', command], { cwd: project, encoding: 'utf8', timeout: 600_000 });
}

describe('a package built against another libtorch', () => {
  it('says why it does not load and what to run; what it says makes it work', () => {
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-skipstudio', private: true, type: 'module' }));
    const install = sh(`npm install --no-audit --no-fund --ignore-scripts ${tarball}`);
    assert.equal(install.status, 0, install.stderr);

    const failed = sh('node -e "import(\'skipstudio\')"');
    assert.notEqual(failed.status, 0, "the other libtorch's addon must not load here");
    const here = buildInfo().torchVersion.split('.').slice(0, 2).join('.');
    assert.match(failed.stderr, /skipstudio: the native addon .* does not load:/);
    assert.match(
      failed.stderr,
      new RegExp(
        `It was built against libtorch (?!${here.replace('.', '\\.')})[\\d.]+; this machine has libtorch ${here.replace('.', '\\.')} `,
      ),
    );

    // The commands are the lines indented by two spaces after "Rebuild it ..." (the stack's are by four);
    // the npm 11 approval only where npm is 11 or later.
    const text = failed.stderr.slice(failed.stderr.indexOf('Rebuild it'));
    const commands = text
      .split('\n')
      .slice(1)
      .filter((line) => /^ {2}\S/.test(line))
      .map((line) => line.trim());
    assert.ok(commands.includes('npm rebuild skipstudio --foreground-scripts'), failed.stderr);
    const npmMajor = Number(sh('npm --version').stdout.split('.')[0]);
    for (const command of commands.filter((c) => npmMajor >= 11 || !c.startsWith('npm install-scripts'))) {
      const run = sh(command);
      assert.equal(run.status, 0, `${command}: ${run.stdout}${run.stderr}`);
    }

    compileAndRunExample(project);
    const versions = sh('node -e "import(\'skipstudio\').then((s) => console.log(s.buildInfo().torchVersion))"');
    assert.equal(versions.stdout.trim(), buildInfo().torchVersion, "the rebuilt addon is built against this machine's libtorch");
  });
});
