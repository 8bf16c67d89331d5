/**
 * Learning-rate schedules: functions of the 0-based step index, evaluated in TypeScript and fed
 * to the train step's `lr` input, so changing a schedule never rebuilds a graph.
 */
export type LrSchedule = (step: number) => number;

export function constantLr(lr: number): LrSchedule {
  return () => lr;
}

/** Multiplies by `gamma` every `stepSize` steps (torch StepLR). */
export function stepLr(base: number, stepSize: number, gamma = 0.1): LrSchedule {
  return (step) => base * gamma ** Math.floor(step / stepSize);
}

/** Cosine decay from `base` to `min` over `totalSteps` (torch CosineAnnealingLR, one half period). */
export function cosineLr(base: number, totalSteps: number, min = 0): LrSchedule {
  return (step) => min + ((base - min) * (1 + Math.cos((Math.PI * Math.min(step, totalSteps)) / totalSteps))) / 2;
}

/** Linear warm-up from base/warmupSteps to the schedule's value over the first `warmupSteps` steps, then `after`. */
export function withWarmup(warmupSteps: number, after: LrSchedule): LrSchedule {
  return (step) => (step < warmupSteps ? (after(0) * (step + 1)) / warmupSteps : after(step - warmupSteps));
}
