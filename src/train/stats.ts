/**
 * Running sums over training steps, for a logging window and for an epoch:
 * loss, accuracy, throughput and the share of time spent waiting for data.
 * They travel in the checkpoint, so a run resumed mid-epoch writes the same
 * epoch and window records as one never stopped.
 */
export interface StepSample {
  loss: number;
  correct: number;
  images: number;
  dataMs: number;
  computeMs: number;
}

export class StepStats {
  steps = 0;
  lossSum = 0;
  correct = 0;
  images = 0;
  dataMs = 0;
  computeMs = 0;

  static from(saved: Partial<StepStats> | undefined): StepStats {
    return Object.assign(new StepStats(), saved ?? {});
  }

  add(sample: StepSample): void {
    this.steps += 1;
    this.lossSum += sample.loss;
    this.correct += sample.correct;
    this.images += sample.images;
    this.dataMs += sample.dataMs;
    this.computeMs += sample.computeMs;
  }

  get meanLoss(): number {
    return this.lossSum / Math.max(1, this.steps);
  }

  get accuracy(): number {
    return this.correct / Math.max(1, this.images);
  }

  get seconds(): number {
    return (this.dataMs + this.computeMs) / 1000;
  }

  get imagesPerSecond(): number {
    return this.images / Math.max(1e-9, this.seconds);
  }

  get dataWaitShare(): number {
    return this.dataMs / Math.max(1e-9, this.dataMs + this.computeMs);
  }

  toJSON(): Record<string, number> {
    const { steps, lossSum, correct, images, dataMs, computeMs } = this;
    return { steps, lossSum, correct, images, dataMs, computeMs };
  }
}
