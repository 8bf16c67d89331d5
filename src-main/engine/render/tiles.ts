import type { Scene } from '../scene/types';
import { TILE_SIZE, tileExists, tileGridFor, tileWindow, type TileGrid } from '../../ipc/tile-grid';
import { sampleSensor, type SampledGrid } from './sampler';
import { paint, type LayerStyle } from './style';
import { encodePng } from './png';

/** One raster the map can show: a sensor of an open scene (a class map is a one-band scene). */
export interface RasterSource {
  /** Stable id of the scene object; caches are keyed by it. */
  key: string;
  scene: Scene;
  sensor: string;
}

/** Overviews hold at most this many values (pixels x bands) and this many pixels per side. */
const OVERVIEW_VALUES = 16_000_000;
const OVERVIEW_MAX_SIDE = 1024;
const TILE_CACHE_BYTES = 64 * 1024 * 1024;

/** Least-recently-used cache of encoded tiles, bounded by bytes. */
class ByteLru {
  private readonly entries = new Map<string, Uint8Array>();
  private bytes = 0;
  constructor(private readonly limit: number) {}
  get(key: string): Uint8Array | undefined {
    const v = this.entries.get(key);
    if (v) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }
  set(key: string, value: Uint8Array): void {
    this.delete(key);
    this.entries.set(key, value);
    this.bytes += value.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.limit) break;
      this.entries.delete(k);
      this.bytes -= v.length;
    }
  }
  delete(key: string): void {
    const v = this.entries.get(key);
    if (v) {
      this.entries.delete(key);
      this.bytes -= v.length;
    }
  }
  dropPrefix(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.delete(k);
  }
}

export function overviewStep(width: number, height: number, bands: number): number {
  let step = 1;
  const fits = (s: number) => {
    const w = Math.ceil(width / s);
    const h = Math.ceil(height / s);
    return w * h * bands <= OVERVIEW_VALUES && Math.max(w, h) <= OVERVIEW_MAX_SIDE;
  };
  while (!fits(step)) step *= 2;
  return step;
}

/**
 * Renders map tiles (256 x 256 RGBA PNG, scheme in ipc/tile-grid.ts) from windowed scene reads.
 * Zoomed-out tiles come from a per-sensor overview sampled once; zoomed-in tiles read just their
 * window. Encoded tiles are kept in a bounded LRU cache.
 */
export class TileRenderer {
  private readonly overviews = new Map<string, Promise<SampledGrid>>();
  private readonly cache = new ByteLru(TILE_CACHE_BYTES);
  private emptyTile?: Uint8Array;

  grid(source: RasterSource): TileGrid {
    return tileGridFor(source.scene.info.width, source.scene.info.height);
  }

  overview(source: RasterSource): Promise<SampledGrid> {
    const key = `${source.key}|${source.sensor}`;
    let pending = this.overviews.get(key);
    if (!pending) {
      const { width, height } = source.scene.info;
      const bands = source.scene.info.sensors.find((s) => s.id === source.sensor)?.bands.length ?? 1;
      const step = overviewStep(width, height, bands);
      pending = sampleSensor(source.scene, source.sensor, { x: 0, y: 0, width, height }, step);
      pending.catch(() => this.overviews.delete(key));
      this.overviews.set(key, pending);
    }
    return pending;
  }

  async tile(source: RasterSource, style: LayerStyle, styleKey: string, z: number, x: number, y: number, signal?: AbortSignal): Promise<Uint8Array> {
    const grid = this.grid(source);
    if (!tileExists(grid, z, x, y)) return this.transparent();
    const cacheKey = `${source.key}|${source.sensor}|${styleKey}|${z}/${x}/${y}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;
    const win = tileWindow(grid, z, x, y);
    const overview = await this.overview(source);
    let rgba: Uint8Array;
    if (win.step >= overview.step) {
      const half = Math.floor(win.step / 2);
      rgba = paint(overview, style, TILE_SIZE, (tx, ty) => {
        const sx = win.x + tx * win.step + half;
        const sy = win.y + ty * win.step + half;
        if (sx < 0 || sy < 0 || sx >= grid.width || sy >= grid.height) return -1;
        return Math.floor(sy / overview.step) * overview.width + Math.floor(sx / overview.step);
      });
    } else {
      const sampled = await sampleSensor(source.scene, source.sensor, win, win.step, signal);
      rgba = paint(sampled, style, TILE_SIZE, (tx, ty) => ty * sampled.width + tx);
    }
    const png = encodePng(rgba, TILE_SIZE, TILE_SIZE);
    this.cache.set(cacheKey, png);
    return png;
  }

  /** The whole source as one PNG at most `maxSize` pixels per side, from the overview. */
  async preview(source: RasterSource, style: LayerStyle, maxSize: number): Promise<Uint8Array> {
    const overview = await this.overview(source);
    const { width, height } = source.scene.info;
    const scale = Math.max(width, height) / maxSize;
    const w = Math.max(1, Math.round(width / Math.max(scale, 1)));
    const h = Math.max(1, Math.round(height / Math.max(scale, 1)));
    const size = Math.max(w, h);
    const rgba = paint(overview, style, size, (tx, ty) => {
      if (tx >= w || ty >= h) return -1;
      const sx = Math.floor(((tx + 0.5) * width) / w);
      const sy = Math.floor(((ty + 0.5) * height) / h);
      return Math.min(overview.height - 1, Math.floor(sy / overview.step)) * overview.width + Math.min(overview.width - 1, Math.floor(sx / overview.step));
    });
    // Crop the square canvas to w x h.
    const cropped = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) cropped.set(rgba.subarray(y * size * 4, y * size * 4 + w * 4), y * w * 4);
    return encodePng(cropped, w, h);
  }

  /** Forgets overviews and tiles of a scene (closed, or re-opened with other failures). */
  forget(sourceKey: string): void {
    for (const k of [...this.overviews.keys()]) if (k.startsWith(`${sourceKey}|`)) this.overviews.delete(k);
    this.cache.dropPrefix(`${sourceKey}|`);
  }

  private transparent(): Uint8Array {
    this.emptyTile ??= encodePng(new Uint8Array(TILE_SIZE * TILE_SIZE * 4), TILE_SIZE, TILE_SIZE);
    return this.emptyTile;
  }
}
