import type { SampledGrid } from './sampler';
import { stretchByte, type BandRange } from './stretch';
import { rampColour } from './palette';

/**
 * How sampled values become RGBA. A registry keyed by style kind, so a new layer kind is a new
 * entry, not a new branch in the tile code. Invalid (nodata / failed / outside) pixels are
 * transparent in every style.
 */
export type LayerStyle =
  | { kind: 'rgb'; bands: [number, number, number]; ranges: [BandRange, BandRange, BandRange] }
  | { kind: 'palette'; band: number; lut: Uint8Array }
  | { kind: 'ramp'; band: number; min: number; max: number };

type Painter<S extends LayerStyle> = (grid: SampledGrid, style: S, pixel: number, out: Uint8Array, o: number) => void;

const PAINTERS: { [K in LayerStyle['kind']]: Painter<Extract<LayerStyle, { kind: K }>> } = {
  rgb(grid, style, i, out, o) {
    const plane = grid.width * grid.height;
    for (let c = 0; c < 3; c++) out[o + c] = stretchByte(grid.data[style.bands[c] * plane + i], style.ranges[c]);
    out[o + 3] = 255;
  },
  palette(grid, style, i, out, o) {
    const v = grid.data[style.band * grid.width * grid.height + i];
    const id = Number.isFinite(v) ? Math.round(v) : -1;
    if (id < 0 || id > 255) return;
    out.set(style.lut.subarray(id * 4, id * 4 + 4), o);
  },
  ramp(grid, style, i, out, o) {
    const v = grid.data[style.band * grid.width * grid.height + i];
    if (!Number.isFinite(v)) return;
    const [r, g, b] = rampColour((v - style.min) / (style.max - style.min || 1));
    out[o] = r; out[o + 1] = g; out[o + 2] = b; out[o + 3] = 255;
  },
};

/**
 * Paints a sampled grid into a `size` x `size` RGBA tile. `place(tx, ty)` maps a tile pixel to a
 * grid pixel index or -1 (outside the scene or the grid).
 */
export function paint(grid: SampledGrid, style: LayerStyle, size: number, place: (tx: number, ty: number) => number): Uint8Array {
  const out = new Uint8Array(size * size * 4);
  const painter = PAINTERS[style.kind] as Painter<LayerStyle>;
  for (let ty = 0; ty < size; ty++) {
    for (let tx = 0; tx < size; tx++) {
      const i = place(tx, ty);
      if (i < 0 || !grid.valid[i]) continue;
      painter(grid, style, i, out, (ty * size + tx) * 4);
    }
  }
  return out;
}
