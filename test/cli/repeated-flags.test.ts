/**
 * Flags given more than once (issue 42, defect 12): `--depths` for the same
 * model twice trains both lists (a depth in both is refused), and model
 * names that differ only in case are one model, named twice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as S from '../../src/index.js';

/** The experiment command's options as the real program parses them, in this process, stopping before it trains. */
async function experimentOptions(args: string[]): Promise<Record<string, unknown>> {
  const { program } = await import('../../src/cli/program.js');
  for (const command of [program, ...program.commands]) command.exitOverride().configureOutput({ writeErr: () => undefined });
  let seen: Record<string, unknown> | undefined;
  program.hook('preAction', (_, action) => {
    seen = action.opts();
    throw new Error('parsed');
  });
  await assert.rejects(program.parseAsync(['experiment', ...args], { from: 'user' }), /parsed/);
  return seen!;
}

describe('repeated flags', () => {
  it('--depths for one model twice keeps both lists', async () => {
    const options = await experimentOptions([
      '--models',
      'hw5net,net3',
      '--depths',
      'hw5net:1',
      '--depths',
      'net3:0',
      '--depths',
      'hw5net:2,4',
    ]);
    assert.deepEqual(options.depths, { hw5net: [1, 2, 4], net3: [0] });
  });

  it('a depth in both lists, and one model named in two cases, are refused before training', () => {
    const plan = (o: Partial<S.ExperimentConfig>) => S.planExperiment(S.experimentFromPreset('hw5', '/tmp/x', o));
    assert.throws(() => plan({ models: ['hw5net'], depths: { hw5net: [1, 2, 1] } }), /hw5net's depths list a depth twice: 1, 2, 1/);
    assert.throws(() => plan({ models: ['NET1', 'net1'] }), /models lists net1 twice: each run would be trained again under the same name/);
  });
});
