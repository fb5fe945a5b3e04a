/**
 * The launcher behind `--nproc-per-node`, as torchrun: starts this machine's
 * worker processes with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
 * MASTER_ADDR and MASTER_PORT set, shows rank 0's output, and watches them.
 * When one fails the others get the collective timeout to notice and stop by
 * themselves (naming the rank that failed), then are killed, so no worker
 * outlives the launch.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface LaunchOptions {
  nprocPerNode: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
  /** The workers' collective timeout: how long the others get to stop by themselves after one fails. */
  timeoutMs: number;
}

/** The environment variables of a launched worker; their presence is how a process knows it is one. */
export const WORKER_VARIABLES = ['RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'] as const;

/** Set by the launcher in each worker's environment: the process whose death ends the worker. */
const LAUNCHER_PID = 'SKIPSTUDIO_LAUNCHER_PID';

/**
 * In a launched worker: exits when the launcher is gone (its parent changes,
 * as when the launcher is SIGKILLed), so no worker trains on as an orphan.
 * A check each second on the event loop, which the trainer yields to after
 * every step; unref'd, so it keeps nothing alive.
 */
export function exitWithLauncher(log: (line: string) => void = (l) => console.error(l)): void {
  const launcher = Number(process.env[LAUNCHER_PID]);
  if (!Number.isInteger(launcher) || launcher <= 0) return;
  setInterval(() => {
    if (process.ppid === launcher) return;
    log(`[rank ${process.env.RANK}] the launcher (pid ${launcher}) is gone: exiting`);
    process.exit(1);
  }, 1000).unref();
}

export function checkLaunchOptions(o: LaunchOptions): void {
  if (o.nodeRank < 0 || o.nodeRank >= o.nnodes)
    throw new RangeError(`--node-rank ${o.nodeRank} is outside 0..${o.nnodes - 1} (--nnodes ${o.nnodes})`);
}

/**
 * Runs `node script args` once per local rank and resolves with the exit
 * code of the launch: 0 when every worker finished, else the first failed
 * worker's code (1 for a signal).
 */
export function launchWorkers(
  options: LaunchOptions,
  script: string,
  args: string[],
  log: (line: string) => void = (l) => console.error(l),
): Promise<number> {
  const { nprocPerNode, nnodes, nodeRank } = options;
  const worldSize = nprocPerNode * nnodes;
  return new Promise((resolve) => {
    const workers = new Map<number, ChildProcess>();
    let failure: { rank: number; code: number } | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    // Ctrl-C reaches the workers from the terminal (each then stops after its
    // step, with a checkpoint): the launcher only waits for them. A SIGTERM
    // sent to the launcher alone is passed on as that same clean stop.
    const onInt = () => undefined;
    const onTerm = () => {
      for (const child of workers.values()) child.kill('SIGINT');
    };
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    for (let local = 0; local < nprocPerNode; local++) {
      const rank = nodeRank * nprocPerNode + local;
      const child = spawn(process.execPath, [script, ...args], {
        env: {
          ...process.env,
          RANK: String(rank),
          LOCAL_RANK: String(local),
          WORLD_SIZE: String(worldSize),
          LOCAL_WORLD_SIZE: String(nprocPerNode),
          MASTER_ADDR: options.masterAddr,
          MASTER_PORT: String(options.masterPort),
          SKIPSTUDIO_DIST_TIMEOUT_MS: String(options.timeoutMs),
          [LAUNCHER_PID]: String(process.pid),
        },
        // Rank 0 speaks for the run; the others only report errors.
        stdio: ['inherit', rank === 0 ? 'inherit' : 'ignore', 'inherit'],
      });
      log(`[launch] rank ${rank} of ${worldSize}: pid ${child.pid}`);
      workers.set(rank, child);
      child.on('exit', (code, signal) => {
        workers.delete(rank);
        if ((code !== 0 || signal !== null) && failure === undefined) {
          failure = { rank, code: code ?? 1 };
          log(
            `[launch] rank ${rank} (pid ${child.pid}) ${signal ? `was killed by ${signal}` : `exited with code ${code}`}; ` +
              `the others stop within the timeout (${(options.timeoutMs / 1000).toFixed(0)} s)`,
          );
          // The others notice through their collectives; whoever has not stopped by then is killed.
          killTimer = setTimeout(() => {
            for (const [r, other] of workers) {
              log(`[launch] rank ${r} (pid ${other.pid}) did not stop: killing it`);
              other.kill('SIGKILL');
            }
          }, options.timeoutMs + 10_000);
        }
        if (workers.size === 0) {
          if (killTimer) clearTimeout(killTimer);
          process.off('SIGINT', onInt);
          process.off('SIGTERM', onTerm);
          resolve(failure ? failure.code || 1 : 0);
        }
      });
    }
  });
}
