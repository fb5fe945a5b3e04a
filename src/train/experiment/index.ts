/**
 * The experiment: the skip-connection study as a grid of models x depths x
 * learning rates x seeds, each model trained by its own recipe (recipes.ts),
 * run one after another or several at once (parallel-runs.ts) into one
 * experiment directory (runs/<name>/<model>[-d<depth>]-lr<lr>-s<seed>/ each),
 * then summarised in results.json, with the loss landscapes it asks for.
 * Re-running an experiment with its settings continues it: finished and
 * diverged runs are kept, a stopped one is resumed; other settings are
 * refused. Its parts: config (what an experiment is), presets, file (the
 * --config file), plan, run, after-training (forecast and landscapes).
 */
export * from './config.js';
export * from './presets.js';
export * from './file.js';
export * from './plan.js';
export * from './run.js';
export * from './flags.js';
