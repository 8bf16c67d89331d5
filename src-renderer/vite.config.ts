/** Plain Vite build of the renderer alone (for the e2e tests): `vite build --config src-renderer/vite.config.ts`. */
import { defineConfig } from 'vite';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rendererConfig } from './vite.shared';

const here = dirname(fileURLToPath(import.meta.url));
export default defineConfig(rendererConfig({ outDir: resolve(here, '../out/renderer') }));
