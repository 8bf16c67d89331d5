/**
 * The renderer's Vite config, used by electron-vite (electron.vite.config.ts) for the app and by
 * src-renderer/vite.config.ts for the plain build the e2e tests serve. Relative base so the
 * built index.html loads from file:// in Electron and from any local server.
 */
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));

export function rendererConfig(options: { outDir: string }) {
  return {
    root,
    base: './',
    plugins: [svelte()],
    build: {
      outDir: options.outDir,
      emptyOutDir: true,
      target: 'chrome130',
      // Map tiles come from the engine; no source maps or inlined assets are needed.
      sourcemap: false,
      chunkSizeWarningLimit: 2000,
      rollupOptions: { input: resolve(root, 'index.html') },
    },
  };
}
