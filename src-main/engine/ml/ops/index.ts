/**
 * Importing this module registers every op; the public op helpers are re-exported.
 *
 * Execution-provider coverage of the ONNX ops these helpers and their gradient rules emit
 * (opset 18), from onnxruntime's docs/OperatorKernels.md and js/web/docs/webgpu-operators.md:
 * - CPU: everything in float32. No float64 kernel for Erf, Conv, ConvTranspose, Resize, OneHot,
 *   Col2Im, nor for LayerNormalization's Mean/InvStdDev outputs; float64 graphs (gradient
 *   checks) lower those nodes at export (OpDef.lowerFloat64) or avoid them (resize, layerNorm).
 * - CUDA: kernels for every op emitted here, including ScatterElements/ScatterND (opset 18) that
 *   the Gather/TopK rules use.
 * - WebGPU (the ONNX Runtime Web table): no kernels listed for LogSoftmax, TopK, ScatterND,
 *   ScatterElements, Sign, Softplus, Max/Min, And/Or. onnxruntime places such nodes on the CPU
 *   provider, which works but copies tensors between devices; prefer softmax + log, or keep
 *   these out of hot loops, when targeting WebGPU. Its Resize lacks align_corners downsampling,
 *   which does not matter here: resizeBilinear emits MatMuls, not Resize.
 */
export * from './elementwise';
export * from './shape';
export * from './reduce';
export * from './linalg';
export * from './nn';
export * from './slicing';
export * from './gather';
export * from './conv';
export * from './resize';
export * from './topk';
