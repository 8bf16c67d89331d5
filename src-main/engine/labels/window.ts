/**
 * The part of a scene that labels need: fine-tuning and training cut their samples around
 * labelled pixels, so on a large scene they read the labels' extent (plus a margin) rather than
 * the whole scene, and a few patches drawn there cost memory for their area alone.
 */
import { cropScene } from '../scene/crop';
import { wholeReadBytes } from '../scene/whole';
import type { PixelWindow, Scene } from '../scene/types';
import { DEFAULT_SPLIT_BLOCK } from './split';
import type { LabelGrid, LabelSet } from './types';

/**
 * Scenes whose sensors read whole take at most this many bytes are read whole: their statistics
 * (normalisation, band fills) then come from the whole scene that classify will run over, and
 * results do not depend on where the labels lie.
 */
export const WHOLE_SCENE_READ_BYTES = 512 * 1024 ** 2;

/**
 * `scene` and `labels` as fine-tuning and training read them: the scene whole up to
 * `wholeUpTo` bytes, else cropped to the labels' extent, widened by `tile` pixels (a training
 * tile around a labelled pixel, jittered, stays within it) and aligned to both the tile and the
 * default validation split's blocks. `cropped` says which.
 */
export function labelledArea(scene: Scene, labels: LabelSet, tile: number, wholeUpTo = WHOLE_SCENE_READ_BYTES): { scene: Scene; labels: LabelSet; window: PixelWindow; cropped: boolean } {
  const whole = { x: 0, y: 0, width: scene.info.width, height: scene.info.height };
  const window = wholeReadBytes(scene.info, scene.info.sensors.map((s) => s.id)) <= wholeUpTo ? whole : labelledWindow(labels, scene.info, tile, lcm(tile, DEFAULT_SPLIT_BLOCK));
  const cropped = window.width !== whole.width || window.height !== whole.height;
  return { scene: cropScene(scene, window), labels: cropLabels(labels, window), window, cropped };
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
const lcm = (a: number, b: number) => (a / gcd(a, b)) * b;

/**
 * The window around every labelled pixel of `labels`, widened by `margin` pixels on each side and
 * its origin moved down to a multiple of `align` (so that grids of `align`-pixel blocks, such as
 * the validation split's, fall where they fall on the whole scene), clipped to `grid`. The whole
 * grid when there is no labelled pixel.
 */
export function labelledWindow(labels: LabelSet, grid: Pick<LabelGrid, 'width' | 'height'>, margin: number, align = 1): PixelWindow {
  if (!labels.x.length) return { x: 0, y: 0, width: grid.width, height: grid.height };
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let i = 0; i < labels.x.length; i++) {
    x0 = Math.min(x0, labels.x[i]);
    x1 = Math.max(x1, labels.x[i]);
    y0 = Math.min(y0, labels.y[i]);
    y1 = Math.max(y1, labels.y[i]);
  }
  const start = (v: number) => Math.max(0, Math.floor((v - margin) / align) * align);
  const [x, y] = [start(x0), start(y0)];
  return { x, y, width: Math.min(grid.width, x1 + margin + 1) - x, height: Math.min(grid.height, y1 + margin + 1) - y };
}

/** `labels` on the grid of `window` (same pixels, same order and indices, coordinates from the window's origin). */
export function cropLabels(labels: LabelSet, window: PixelWindow): LabelSet {
  if (window.x === 0 && window.y === 0 && window.width === labels.width && window.height === labels.height) return labels;
  const inside = (v: number, start: number, size: number) => v >= start && v < start + size;
  for (let i = 0; i < labels.x.length; i++)
    if (!inside(labels.x[i], window.x, window.width) || !inside(labels.y[i], window.y, window.height))
      throw new RangeError(`labelled pixel (${labels.x[i]}, ${labels.y[i]}) of ${labels.source} lies outside the window ${JSON.stringify(window)}`);
  return {
    ...labels,
    width: window.width,
    height: window.height,
    x: labels.x.map((v) => v - window.x),
    y: labels.y.map((v) => v - window.y),
  };
}
