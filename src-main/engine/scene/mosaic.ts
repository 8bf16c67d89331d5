/**
 * Several windows of a scene laid side by side as a scene of their own, nodata between them: what
 * fine-tuning and training read when labels lie in several areas of a large scene
 * (labels/window.ts labelledArea), so that they hold those areas in memory and not the distance
 * between them. Reads are cut at the windows and offset into the parent. A mosaic has no
 * georeferencing: nothing is written on its grid.
 */
import type { PixelWindow, ReadOptions, Scene, SceneInfo, SensorBlock } from './types';

/** Where each window of the parent lies in the mosaic (`x`, `y`: its origin there). */
export interface MosaicLayout {
  width: number;
  height: number;
  parts: { window: PixelWindow; x: number; y: number }[];
}

/**
 * Shelf packing of `windows`, tallest first, left to right in rows: each window at a multiple of
 * `align` (blocks of that size on the mosaic are then blocks of the parent, for windows aligned to
 * it) with at least `gap` pixels to the next. Of a few row widths, from the widest window's to
 * all of them side by side, the one giving the smallest mosaic.
 */
export function packWindows(windows: readonly PixelWindow[], align: number, gap: number): MosaicLayout {
  const tallestFirst = [...windows].sort((a, b) => b.height - a.height);
  const area = windows.reduce((a, w) => a + (w.width + gap) * (w.height + gap), 0);
  const strip = windows.reduce((a, w) => a + Math.ceil((w.width + gap) / align) * align, 0);
  const widths = [0, 1, 1.25, 1.5, 2, 3].map((f) => Math.ceil(f * Math.sqrt(area))).concat(strip);
  const layouts = widths.map((w) => shelves(tallestFirst, Math.max(w, ...windows.map((x) => x.width)), align, gap));
  return layouts.reduce((best, l) => (l.width * l.height < best.width * best.height ? l : best));
}

function shelves(windows: readonly PixelWindow[], rowWidth: number, align: number, gap: number): MosaicLayout {
  const up = (v: number) => Math.ceil(v / align) * align;
  const parts: MosaicLayout['parts'] = [];
  let [x, y, rowHeight, width] = [0, 0, 0, 0];
  for (const window of windows) {
    if (x > 0 && x + window.width > rowWidth) [x, y, rowHeight] = [0, up(y + rowHeight + gap), 0];
    parts.push({ window, x, y });
    width = Math.max(width, x + window.width);
    rowHeight = Math.max(rowHeight, window.height);
    x = up(x + window.width + gap);
  }
  return { width, height: y + rowHeight, parts };
}

export function mosaicScene(scene: Scene, layout: MosaicLayout): Scene {
  const { info } = scene;
  for (const { window: w } of layout.parts)
    if (w.x < 0 || w.y < 0 || w.width < 1 || w.height < 1 || w.x + w.width > info.width || w.y + w.height > info.height)
      throw new RangeError(`mosaic window ${JSON.stringify(w)} is not within the ${info.width} x ${info.height} scene ${info.source}`);
  return new MosaicScene(scene, layout);
}

class MosaicScene implements Scene {
  readonly info: SceneInfo;

  constructor(
    private readonly inner: Scene,
    private readonly layout: MosaicLayout,
  ) {
    this.info = { ...inner.info, width: layout.width, height: layout.height, geoTransform: undefined, georeferencing: undefined };
  }

  async readWindow(window: PixelWindow, options: ReadOptions = {}): Promise<Map<string, SensorBlock>> {
    const { reuse: _reuse, ...rest } = options;
    const out = new Map<string, SensorBlock>();
    for (const part of this.layout.parts) {
      const x0 = Math.max(window.x, part.x);
      const y0 = Math.max(window.y, part.y);
      const x1 = Math.min(window.x + window.width, part.x + part.window.width);
      const y1 = Math.min(window.y + window.height, part.y + part.window.height);
      if (x1 <= x0 || y1 <= y0) continue;
      const read = { x: part.window.x + x0 - part.x, y: part.window.y + y0 - part.y, width: x1 - x0, height: y1 - y0 };
      for (const [id, block] of await this.inner.readWindow(read, rest)) {
        const target = out.get(id) ?? emptyLike(block, window);
        out.set(id, target);
        paste(block, target, x0 - window.x, y0 - window.y);
      }
    }
    if (out.size) return out;
    // between the windows: the sensors' blocks as a read of the parent gives them, every pixel invalid
    const first = this.layout.parts[0].window;
    const probe = await this.inner.readWindow({ x: first.x, y: first.y, width: 1, height: 1 }, rest);
    return new Map([...probe].map(([id, block]) => [id, emptyLike(block, window)]));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A block of `like`'s sensor and bands over `window`, every pixel invalid. */
function emptyLike(like: SensorBlock, window: PixelWindow): SensorBlock {
  const { sensor, bands, bandIndices } = like;
  const pixels = window.width * window.height;
  return { sensor, bands, ...(bandIndices ? { bandIndices } : {}), width: window.width, height: window.height, data: new Float32Array(bands * pixels), valid: new Uint8Array(pixels) };
}

/** Copies `block` into `target` with its origin at (x, y) of `target`. */
function paste(block: SensorBlock, target: SensorBlock, x: number, y: number): void {
  const [w, h, W, H] = [block.width, block.height, target.width, target.height];
  for (let r = 0; r < h; r++) {
    target.valid.set(block.valid.subarray(r * w, (r + 1) * w), (y + r) * W + x);
    for (let c = 0; c < block.bands; c++) target.data.set(block.data.subarray((c * h + r) * w, (c * h + r + 1) * w), (c * H + y + r) * W + x);
  }
}
