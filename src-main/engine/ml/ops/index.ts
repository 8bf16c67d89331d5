/** Importing this module registers every op; the public op helpers are re-exported. */
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
