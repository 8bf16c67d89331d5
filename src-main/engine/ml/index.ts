/** The ML kernel's public API: graph builder, ops, autodiff. */
export * from './graph/graph';
export * from './graph/dtype';
export type { OpDef, GradContext, ValueType } from './graph/registry';
export { defineOp, getOp, registeredOps } from './graph/registry';
export { broadcastShapes, sumToShape } from './graph/shape';
export * from './ops/index';
export { gradients } from './autodiff';
export * from './io/safetensors';
export * from './losses';
export * from './optim';
export * from './train/index';
