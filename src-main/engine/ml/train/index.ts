/** Training: train-step/eval graph builders, the runtime Trainer, the TrainLoop, schedules, seeded RNG. */
export { buildTrainStep, buildEvalModel } from './step';
export type { ForwardFn, ForwardContext, ForwardResult, TrainStepOptions, TrainStepModel, EvalModel, CarriedTensor, TensorSpec } from './step';
export { Trainer } from './trainer';
export type { Feeds, StepResult, EvalResult, TrainerOptions, TrainerSnapshot } from './trainer';
export { TrainLoop } from './loop';
export type { Dataset, EarlyStopping, WeightAveraging, TrainLoopOptions, Evaluation, EpochRecord, TrainProgress, TrainReport } from './loop';
export { constantLr, stepLr, cosineLr, withWarmup, type LrSchedule } from './schedule';
export { Rng } from './rng';
