import type { PixelWindow, Scene, SensorBlock } from '../scene/types';
import { throwIfCancelled } from '../jobs/job';

/** Values read per call at most (pixels x bands); bounds memory whatever the scene size. */
export const READ_BUDGET_VALUES = 4_000_000;

/** A sensor's bands sampled on a regular lattice: pixel (i, j) is scene pixel (x0 + i*step + step/2, ...). */
export interface SampledGrid {
  bands: number;
  width: number;
  height: number;
  /** Band-major float32, like SensorBlock. */
  data: Float32Array;
  valid: Uint8Array;
  /** Scene pixel of sample (0, 0)'s window corner and the lattice step. */
  x0: number;
  y0: number;
  step: number;
}

function clip(window: PixelWindow, width: number, height: number): PixelWindow | null {
  const x = Math.max(0, window.x);
  const y = Math.max(0, window.y);
  const x1 = Math.min(width, window.x + window.width);
  const y1 = Math.min(height, window.y + window.height);
  return x1 > x && y1 > y ? { x, y, width: x1 - x, height: y1 - y } : null;
}

/**
 * Nearest-neighbour decimation of one sensor over a window of the scene (clipped to the scene),
 * sampling every `step`-th pixel at its centre. Reads run in row strips of at most
 * READ_BUDGET_VALUES values, so a zoomed-out view of a 10k x 10k scene never holds it whole.
 */
export async function sampleSensor(
  scene: Scene,
  sensor: string,
  window: PixelWindow,
  step: number,
  signal?: AbortSignal,
): Promise<SampledGrid> {
  const info = scene.info.sensors.find((s) => s.id === sensor);
  if (!info) throw new Error(`no sensor "${sensor}" in the scene`);
  const bands = info.bands.length;
  const outW = Math.ceil(window.width / step);
  const outH = Math.ceil(window.height / step);
  const grid: SampledGrid = {
    bands, width: outW, height: outH, step, x0: window.x, y0: window.y,
    data: new Float32Array(bands * outW * outH), valid: new Uint8Array(outW * outH),
  };
  const half = Math.floor(step / 2);
  const sampleX = (i: number) => window.x + i * step + half;
  const sampleY = (j: number) => window.y + j * step + half;
  const cols: number[] = [];
  for (let i = 0; i < outW; i++) if (sampleX(i) < scene.info.width && sampleX(i) >= 0) cols.push(i);
  if (cols.length === 0) return grid;
  const readX = sampleX(cols[0]);
  const readW = sampleX(cols[cols.length - 1]) - readX + 1;
  const rowsPerRead = Math.max(1, Math.floor(READ_BUDGET_VALUES / Math.max(1, readW * bands)));

  let j = 0;
  while (j < outH) {
    if (sampleY(j) < 0) { j++; continue; }
    if (sampleY(j) >= scene.info.height) break;
    throwIfCancelled(signal);
    // Take as many sampled rows as fit in one read of at most rowsPerRead source rows.
    const firstRow = sampleY(j);
    let last = j;
    while (last + 1 < outH && sampleY(last + 1) < scene.info.height && sampleY(last + 1) - firstRow + 1 <= rowsPerRead) last++;
    const readWindow = clip({ x: readX, y: firstRow, width: readW, height: sampleY(last) - firstRow + 1 }, scene.info.width, scene.info.height);
    if (readWindow) {
      const blocks = await scene.readWindow(readWindow, { sensors: [sensor], signal });
      const block = blocks.get(sensor);
      if (block) copySamples(block, readWindow, grid, cols, sampleX, j, last, sampleY);
    }
    j = last + 1;
  }
  return grid;
}

function copySamples(
  block: SensorBlock, read: PixelWindow, grid: SampledGrid, cols: number[],
  sampleX: (i: number) => number, j0: number, j1: number, sampleY: (j: number) => number,
): void {
  const plane = block.width * block.height;
  const outPlane = grid.width * grid.height;
  for (let j = j0; j <= j1; j++) {
    const by = sampleY(j) - read.y;
    for (const i of cols) {
      const bx = sampleX(i) - read.x;
      const src = by * block.width + bx;
      const dst = j * grid.width + i;
      grid.valid[dst] = block.valid[src];
      for (let b = 0; b < grid.bands; b++) grid.data[b * outPlane + dst] = block.data[b * plane + src];
    }
  }
}
