/** What an experiment does around its training: the forecast before it, and the loss landscapes after it. */
import { basename, join } from 'node:path';

import { isInitialized } from '../../distributed/index.js';
import { writeFileAtomic } from '../../io/index.js';
import { type ExperimentForecast, FORECAST_FILE, type RunSummary, type TrainConfig } from '../../runs/index.js';
import { forecastExperiment, forecastLines } from '../forecast.js';
import { LANDSCAPE_DEFAULTS, hasLandscape, landscapeOfRun, progressEvery } from '../landscape.js';
import { threadsUsed } from '../parallel-choice.js';
import type { SpeedMeter } from '../speed.js';
import type { ExperimentContext } from './config.js';
import { landscapeRuns } from './plan.js';

/** The forecast of the runs still to train and the landscapes after them, printed and written (none when nothing is left to train). */
export async function experimentForecast(
  { config, plans, datasets, options }: ExperimentContext,
  pending: TrainConfig[],
  slots: number,
  meter: SpeedMeter,
): Promise<ExperimentForecast | undefined> {
  // Data-parallel ranks share the cores with one another: a measurement in one of them would say nothing of the run.
  if (pending.length === 0 || isInitialized()) return undefined;
  const landscape = config.landscape === undefined ? undefined : { ...LANDSCAPE_DEFAULTS, ...config.landscape };
  const forecast = await forecastExperiment(
    {
      pending,
      slots,
      threads: threadsUsed(pending),
      landscapes: landscape === undefined ? [] : landscapeRuns(plans).filter((plan) => !hasLandscape(plan.out, landscape)),
      landscape,
    },
    datasets,
    meter,
  );
  for (const line of forecastLines(forecast)) options.reporter.message(line);
  writeForecast(config.out, forecast);
  return forecast;
}

/** forecast.json in the experiment's folder: written before training, and again with the actual times at the end. */
export function writeForecast(out: string, forecast: ExperimentForecast): void {
  writeFileAtomic(join(out, FORECAST_FILE), `${JSON.stringify(forecast, null, 2)}\n`);
}

/** Computes the landscapes a finished experiment asks for; one already there with the same settings is kept. */
export async function landscapes({ config, plans, datasets, options }: ExperimentContext, runs: RunSummary[]): Promise<void> {
  const settings = { ...LANDSCAPE_DEFAULTS, ...config.landscape };
  for (const plan of landscapeRuns(plans)) {
    if (options.stop?.requested) return;
    const name = basename(plan.out);
    if (runs.find((r) => r.dir === plan.out)?.status !== 'finished') {
      options.reporter.message(`[${name}] no loss landscape: the run did not finish`);
      continue;
    }
    if (hasLandscape(plan.out, settings)) {
      options.reporter.message(`[${name}] loss landscape already computed; kept`);
      continue;
    }
    try {
      const progress = progressEvery(0.25, (done, total) =>
        options.reporter.message(`[${name}] loss landscape: ${done} of ${total} points`),
      );
      const file = await landscapeOfRun(plan.out, settings, { onPoint: progress, datasets });
      options.reporter.message(`[${name}] loss landscape on ${file.sample} training images in ${file.seconds.toFixed(0)} s`);
    } catch (error) {
      // The runs are trained: a landscape that fails must not cost the experiment its report.
      options.reporter.message(`[${name}] no loss landscape: ${(error as Error).message}`);
    }
  }
}
