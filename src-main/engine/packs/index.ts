/** Model packs: manifest format, loading, the pack registry and band mapping. */
export * from './manifest';
export * from './pack';
export * from './registry';
export * from './bandmap';
