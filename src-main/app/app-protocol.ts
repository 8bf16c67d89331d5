/**
 * Serves the built renderer from `app://fieldmoe/…` instead of file://, so the page has a real,
 * secure origin: CSP 'self' means exactly the app, and maplibre's module worker loads
 * same-origin. Only files inside the renderer folder are served; anything else is a 404.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const APP_SCHEME = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://fieldmoe`;
export const APP_INDEX_URL = `${APP_ORIGIN}/index.html`;

export const APP_SCHEME_PRIVILEGES = { standard: true, secure: true, supportFetchAPI: true, corsEnabled: false, stream: true } as const;

/** Maps an app:// URL to a file inside `rootDir`, or null when it would leave it. */
export function resolveAppFile(rootDir: string, url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (`${parsed.protocol}//${parsed.host}` !== APP_ORIGIN) return null;
  const relative = decodeURIComponent(parsed.pathname).replace(/^\/+/, '') || 'index.html';
  const file = path.resolve(rootDir, relative);
  const root = path.resolve(rootDir);
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

export function appFileUrl(rootDir: string, url: string): string | null {
  const file = resolveAppFile(rootDir, url);
  return file ? pathToFileURL(file).href : null;
}
