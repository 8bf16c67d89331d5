/**
 * One build for the three Electron targets:
 *  - main: the Electron app (src-main/app) and the engine host entry that runs in a utility
 *    process (src-main/engine/host/entry.ts -> out/main/engine-host.js). Dependencies
 *    (onnxruntime-node, geotiff, proj4) stay external and load from node_modules (unpacked from
 *    asar where they carry native binaries, see electron-builder.yml).
 *  - preload: one sandboxed CommonJS file (sandboxed preloads cannot load ES modules).
 *  - renderer: the Svelte 5 UI in src-renderer (also built alone by vite.renderer.config.ts for
 *    the e2e tests).
 */
import { defineConfig } from 'electron-vite';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rendererConfig } from './src-renderer/vite.shared';

const __dirname = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src-main/app/index.ts'),
          'engine-host': resolve(__dirname, 'src-main/engine/host/entry.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve(__dirname, 'src-main/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: rendererConfig({ outDir: resolve(__dirname, 'out/renderer') }),
});
