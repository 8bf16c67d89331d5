/** Where tiles go and how much each tile pixel counts when overlapping tiles are blended. */

/**
 * Tile origins along one axis: a stride of `tile - overlap`, with the last tile pulled back so
 * it ends at the scene edge (full tiles read real pixels instead of padding). A scene smaller
 * than one tile gets a single tile at 0.
 */
export function tileOrigins(length: number, tile: number, overlap: number): number[] {
  if (length <= tile) return [0];
  const stride = tile - overlap;
  const origins: number[] = [];
  for (let x = 0; x + tile < length; x += stride) origins.push(x);
  origins.push(length - tile);
  return origins;
}

/**
 * A 1-D blending window: a raised-cosine ramp over the first and last `overlap` pixels and 1
 * in between. Sampling at pixel centres keeps every weight strictly positive, so a pixel seen
 * by one tile only (scene borders) still gets that tile's value, and the weighted average of
 * probabilities fades smoothly from one tile to the next: no seams.
 */
export function blendWindow(tile: number, overlap: number): Float64Array {
  const w = new Float64Array(tile).fill(1);
  const ramp = Math.min(overlap, Math.floor(tile / 2));
  for (let i = 0; i < ramp; i++) {
    const r = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / ramp);
    w[i] = Math.min(w[i], r);
    w[tile - 1 - i] = Math.min(w[tile - 1 - i], r);
  }
  return w;
}

/** Per coordinate along one axis: how many tiles (at `origins`, `tile` long) cover it. */
export function tileCoverage(length: number, origins: readonly number[], tile: number): Uint8Array {
  const counts = new Uint8Array(length);
  for (const o of origins) for (let i = o; i < Math.min(length, o + tile); i++) counts[i]++;
  return counts;
}

/**
 * Whether a sensor counts as present in a tile: where it covers at least half of the tile's data
 * pixels (pixels where any sensor is valid); a tile without data pixels counts it present. The
 * pipeline feeds this to a pack's availability input, and fine-tuning's training tiles follow it
 * (finetune/samples.ts fillInput); a scene's only sensor is present in every tile.
 */
export function presentInTile(validPixels: number, dataPixels: number): boolean {
  return dataPixels === 0 || validPixels * 2 >= dataPixels;
}
