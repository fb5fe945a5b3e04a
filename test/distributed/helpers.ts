/** Helpers of the data-parallel tests: a free local port and a node child process as a Promise. */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL, exit code 137) after this long (default 120 s). */
  timeoutMs?: number;
  /** Called with all of stdout (stderr) so far, on every chunk. */
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
}

/**
 * Runs `node args...` and resolves when it has exited. coreutils' timeout
 * enforces the time limit rather than a timer here, so a child outlives this
 * process by at most that long: a test runner killed mid-test (a mutant that
 * hangs rank 0 under Stryker) leaves no rank spinning for hours.
 */
export function runNode(args: string[], options: RunOptions = {}): Promise<Finished> {
  return new Promise((resolve) => {
    const started = performance.now();
    const limit = `${(options.timeoutMs ?? 120_000) / 1000}s`;
    const child = spawn('timeout', ['--signal=KILL', limit, process.execPath, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      options.onStdout?.(stdout);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onStderr?.(stderr);
    });
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr, seconds: (performance.now() - started) / 1000 });
    });
  });
}
