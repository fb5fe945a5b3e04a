/**
 * `--precision auto`: bf16 where the CPU computes it natively, fp32 elsewhere,
 * decided from /proc/cpuinfo's flags. Both kinds of CPU are checked from
 * fixtures (a CPU with avx512_bf16, the same CPU's flags without AVX-512, as
 * on an AVX2-only machine), whichever kind runs the test.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as S from '../../src/index.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/cpuinfo');
const cpuinfo = (name: string) => readFileSync(join(fixtures, name), 'utf8');

describe('precision auto', () => {
  it('reads the features that decide the precision from cpuinfo', () => {
    assert.deepEqual(S.cpuFeatures(cpuinfo('epyc-avx512-bf16.txt')), ['avx2', 'fma', 'avx512f', 'avx512_bf16']);
    assert.deepEqual(S.cpuFeatures(cpuinfo('epyc-avx2.txt')), ['avx2', 'fma']);
    assert.deepEqual(S.cpuFeatures('processor : 0\n'), [], 'no flags line: no features');
  });

  it('picks bf16 on a CPU with native bf16 and fp32 on an AVX2-only CPU, saying why', () => {
    const bf16 = S.choosePrecision(S.cpuFeatures(cpuinfo('epyc-avx512-bf16.txt')));
    assert.equal(bf16.precision, 'bf16');
    assert.match(bf16.reason, /^auto: the CPU computes bf16 natively \(avx512_bf16\)/);
    const fp32 = S.choosePrecision(S.cpuFeatures(cpuinfo('epyc-avx2.txt')));
    assert.equal(fp32.precision, 'fp32');
    assert.equal(fp32.reason, 'auto: the CPU has no native bf16 (neither avx512_bf16 nor amx_bf16), so fp32');
    assert.equal(S.choosePrecision(['avx2', 'amx_bf16', 'amx_tile']).precision, 'bf16', 'AMX alone is native bf16 too');
    assert.equal(S.choosePrecision(['avx512f']).precision, 'fp32', 'AVX-512 without its bf16 extension is not');
    const limited = S.choosePrecision(['avx2', 'avx512_bf16'], 'AVX2');
    assert.deepEqual(limited, {
      precision: 'fp32',
      reason: 'auto: ONEDNN_MAX_CPU_ISA=AVX2 leaves oneDNN no bf16 kernels (the CPU has avx512_bf16), so fp32',
    });
    assert.equal(S.choosePrecision(['avx512_bf16'], 'AVX512_CORE_BF16').precision, 'bf16', 'a limit that keeps bf16 keeps it');
    assert.equal(S.isaLimit({ DNNL_MAX_CPU_ISA: 'avx2' }), 'avx2');
    assert.equal(S.isaLimit({}), undefined);
  });

  it('keeps fp32 and bf16 as asked, whatever the CPU', () => {
    assert.equal(S.resolvePrecision('fp32', ['avx512_bf16']).precision, 'fp32');
    assert.equal(S.resolvePrecision('bf16', ['avx2']).precision, 'bf16');
    assert.equal(S.resolvePrecision('auto', ['avx2']).precision, 'fp32');
  });

  it("is the default, resolved in the run's config with its reason, and trains channels-last when bf16", () => {
    assert.equal(S.DEFAULT_TRAIN_CONFIG.precision, 'auto');
    const config = S.resolveTrainConfig({ model: 'net1', out: 'unused' });
    const expected = S.resolvePrecision('auto');
    assert.equal(config.precision, expected.precision, "this machine's choice");
    assert.equal(config.precisionReason, expected.reason);
    assert.equal(S.describePrecision(config), `${expected.precision} (${expected.reason})`);
    assert.equal(S.trainingMemoryFormat({ precision: 'bf16', memoryFormat: 'contiguous' }), 'channelsLast');
    assert.equal(S.trainingMemoryFormat({ precision: 'fp32', memoryFormat: 'contiguous' }), 'contiguous');
    const asked = S.resolveTrainConfig({ model: 'net1', out: 'unused', precision: 'fp32' });
    assert.equal(S.describePrecision(asked), 'fp32');
    assert.throws(
      () => S.resolveTrainConfig({ model: 'net1', out: 'x', precision: 'fp16' as 'fp32' }),
      /precision must be one of auto, fp32, bf16, got 'fp16'/,
    );
    const copied = S.resolveTrainConfig({
      model: 'net1',
      out: 'unused',
      precision: 'fp32',
      precisionReason: 'auto: the CPU computes bf16 natively (avx512_bf16), so bf16',
    });
    assert.equal(copied.precisionReason, undefined, 'a reason carried over from another config does not describe this choice');
  });
});
