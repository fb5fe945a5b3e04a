/** A user's project that installs skipstudio: the example compiled there under strict against the installed package, and run. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Compiles examples/custom-skipblocks.ts in `project` with `tsc --strict` against its installed skipstudio, runs 2 steps of it and checks what it prints. */
export function compileAndRunExample(project: string): void {
  copyFileSync(join(repo, 'examples/custom-skipblocks.ts'), join(project, 'main.ts'));
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        types: ['node'],
        typeRoots: [join(repo, 'node_modules/@types')],
      },
      files: ['main.ts'],
    }),
  );
  const tsc = spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', project], { encoding: 'utf8' });
  assert.equal(tsc.status, 0, `tsc --strict against the installed package: ${tsc.stdout}${tsc.stderr}`);
  const run = spawnSync(process.execPath, [join(project, 'main.js'), '--steps', '2'], { cwd: project, encoding: 'utf8', timeout: 300_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^test accuracy after 2 steps: \d+\.\d\d% of 10000 images$/m);
}
