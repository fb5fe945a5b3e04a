/**
 * Loaded into each Node process of a rehearsal (NODE_OPTIONS=--import, so the
 * experiment's worker processes load it too): when the process exits, it
 * writes its peak resident memory (VmHWM) into SKIPSTUDIO_PEAK_RSS_DIR. Read
 * from /proc rather than getrusage, whose maxrss Linux carries over from the
 * parent across fork and exec.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A field of /proc/self/status in kB (VmHWM: the peak resident set; VmRSS: the current one). */
export function statusKb(field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return match === null ? Number.NaN : Number(match[1]);
}

const folder = process.env.SKIPSTUDIO_PEAK_RSS_DIR;
if (folder !== undefined) {
  process.on('exit', () => {
    const record = { pid: process.pid, ppid: process.ppid, argv: process.argv.slice(2), peakMiB: statusKb('VmHWM') / 1024 };
    writeFileSync(join(folder, `${process.pid}.json`), `${JSON.stringify(record)}\n`);
  });
}
