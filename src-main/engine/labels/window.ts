/**
 * The parts of a scene that labels need: fine-tuning and training cut their samples around
 * labelled pixels, so on a large scene they read the areas around the labels (plus a margin)
 * rather than the whole scene, and a few patches drawn there cost memory for their areas alone.
 */
import { cropScene } from '../scene/crop';
import { mosaicScene, packWindows, type MosaicLayout } from '../scene/mosaic';
import { WHOLE_SCENE_READ_BYTES, wholeReadBytes } from '../scene/whole';
import type { PixelWindow, Scene } from '../scene/types';
import { DEFAULT_SPLIT_BLOCK } from './split';
import type { LabelGrid, LabelSet } from './types';

/**
 * `scene` and `labels` as fine-tuning and training read them: the scene whole up to `wholeUpTo`
 * bytes, else the areas around its labels (labelledWindows: each cluster of labels widened by
 * `tile` pixels, so that a training tile around a labelled pixel, jittered, stays within it, and
 * aligned to both the tile and the default validation split's blocks). One area is read as a
 * crop of the scene, several as a mosaic (scene/mosaic.ts): labels spread over a large scene
 * cost memory for their surroundings, not for the distance between them. `cropped` says
 * whether the scene was read in part, `windows` where.
 */
export function labelledArea(scene: Scene, labels: LabelSet, tile: number, wholeUpTo = WHOLE_SCENE_READ_BYTES): { scene: Scene; labels: LabelSet; windows: PixelWindow[]; cropped: boolean } {
  const whole = { x: 0, y: 0, width: scene.info.width, height: scene.info.height };
  if (wholeReadBytes(scene.info, scene.info.sensors.map((s) => s.id)) <= wholeUpTo) return { scene, labels, windows: [whole], cropped: false };
  const align = lcm(tile, DEFAULT_SPLIT_BLOCK);
  const windows = labelledWindows(labels, scene.info, tile, align);
  if (windows.length === 1) {
    const [window] = windows;
    const cropped = window.width !== whole.width || window.height !== whole.height;
    return { scene: cropScene(scene, window), labels: cropLabels(labels, window), windows, cropped };
  }
  // a tile's width of nodata between the areas: a tile at a scene edge reads fill there, as it does past the edge
  const layout = packWindows(windows, align, tile);
  return { scene: mosaicScene(scene, layout), labels: placeLabels(labels, layout), windows, cropped: true };
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
const lcm = (a: number, b: number) => (a / gcd(a, b)) * b;

/**
 * The windows around the clusters of labelled pixels of `labels`: each labelled pixel's
 * `align`-pixel cell contributes the extent of its labels there widened by `margin` pixels, and
 * contributions that overlap join one window, their bounding box with its origin moved down to a
 * multiple of `align` (so that grids of `align`-pixel blocks, such as the validation split's, fall
 * where they fall on the whole scene), clipped to `grid`. Windows do not overlap, and each
 * labelled pixel lies in one of them at least `margin` pixels from its edges (unless at the
 * grid's). Ordered by row, then column; the whole grid when there is no labelled pixel.
 */
export function labelledWindows(labels: LabelSet, grid: Pick<LabelGrid, 'width' | 'height'>, margin: number, align = 1): PixelWindow[] {
  if (!labels.x.length) return [{ x: 0, y: 0, width: grid.width, height: grid.height }];
  const cells = new Map<number, Box>();
  const columns = Math.ceil(grid.width / align);
  for (let i = 0; i < labels.x.length; i++) {
    const [x, y] = [labels.x[i], labels.y[i]];
    const key = Math.floor(y / align) * columns + Math.floor(x / align);
    const b = cells.get(key);
    cells.set(key, b ? union(b, [x, y, x + 1, y + 1]) : [x, y, x + 1, y + 1]);
  }
  const widened = (b: Box): Box => [Math.floor((b[0] - margin) / align) * align, Math.floor((b[1] - margin) / align) * align, b[2] + margin, b[3] + margin];
  let boxes = [...cells.values()].map(widened);
  // join overlapping boxes until none overlap (a joined box can reach one neither part reached)
  for (let joined = true; joined; ) {
    joined = false;
    const out: Box[] = [];
    for (const b of boxes) {
      const i = out.findIndex((o) => overlap(o, b));
      if (i < 0) out.push(b);
      else {
        out[i] = union(out[i], b);
        joined = true;
      }
    }
    boxes = out;
  }
  return boxes
    .map(([x0, y0, x1, y1]) => {
      const [x, y] = [Math.max(0, x0), Math.max(0, y0)];
      return { x, y, width: Math.min(grid.width, x1) - x, height: Math.min(grid.height, y1) - y };
    })
    .sort((a, b) => a.y - b.y || a.x - b.x);
}

/** [x0, y0, x1, y1), x1 and y1 exclusive. */
type Box = [number, number, number, number];
const union = (a: Box, b: Box): Box => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
const overlap = (a: Box, b: Box) => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];

/** `labels` on the grid of `window` (same pixels, same order and indices, coordinates from the window's origin). */
export function cropLabels(labels: LabelSet, window: PixelWindow): LabelSet {
  if (window.x === 0 && window.y === 0 && window.width === labels.width && window.height === labels.height) return labels;
  return placeLabels(labels, { width: window.width, height: window.height, parts: [{ window, x: 0, y: 0 }] });
}

/** `labels` on the grid of a mosaic of windows (same pixels, same order and indices, each moved with its window). */
export function placeLabels(labels: LabelSet, layout: MosaicLayout): LabelSet {
  const inside = (part: MosaicLayout['parts'][number], x: number, y: number) => {
    const w = part.window;
    return x >= w.x && x < w.x + w.width && y >= w.y && y < w.y + w.height;
  };
  const [xs, ys] = [new Uint32Array(labels.x.length), new Uint32Array(labels.y.length)];
  // labelled pixels come row by row: the previous one's window is the likely one
  let part = layout.parts[0];
  for (let i = 0; i < labels.x.length; i++) {
    const [x, y] = [labels.x[i], labels.y[i]];
    if (!inside(part, x, y)) {
      const found = layout.parts.find((p) => inside(p, x, y));
      if (!found) throw new RangeError(`labelled pixel (${x}, ${y}) of ${labels.source} lies outside the windows read ${JSON.stringify(layout.parts.map((p) => p.window))}`);
      part = found;
    }
    xs[i] = x - part.window.x + part.x;
    ys[i] = y - part.window.y + part.y;
  }
  return { ...labels, width: layout.width, height: layout.height, x: xs, y: ys };
}
