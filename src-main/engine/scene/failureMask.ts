import type { FailureRegion, GeoTransform, PixelWindow } from './types';

/** Inverse of an affine geotransform: world (x, y) to continuous pixel (col, row). */
function worldToPixel(gt: GeoTransform): (x: number, y: number) => [number, number] {
  const det = gt[1] * gt[5] - gt[2] * gt[4];
  return (x, y) => {
    const dx = x - gt[0];
    const dy = y - gt[3];
    return [(gt[5] * dx - gt[2] * dy) / det, (-gt[4] * dx + gt[1] * dy) / det];
  };
}

/** Polygons as lists of rings in pixel coordinates of the reference grid. */
function polygonsInPixels(region: FailureRegion, gt: GeoTransform | undefined): number[][][][] {
  // Ungeoreferenced scenes: region coordinates are pixel (col, row) positions.
  const toPixel = gt ? worldToPixel(gt) : (x: number, y: number): [number, number] => [x, y];
  const polygons = region.geometry.type === 'Polygon' ? [region.geometry.coordinates] : region.geometry.coordinates;
  return polygons.map((rings) => rings.map((ring) => ring.map(([x, y]) => toPixel(x, y))));
}

/**
 * Clears `valid` (a window of the reference grid) where pixel centres fall inside any of the
 * regions. Each polygon is filled with the even-odd rule over all its rings, so holes stay
 * valid; several polygons (and MultiPolygon parts) are united.
 */
export function applyFailureRegions(valid: Uint8Array, window: PixelWindow, regions: readonly FailureRegion[], gt: GeoTransform | undefined): void {
  for (const region of regions) {
    for (const rings of polygonsInPixels(region, gt)) fillPolygon(valid, window, rings);
  }
}

function fillPolygon(valid: Uint8Array, window: PixelWindow, rings: number[][][]): void {
  const crossings: number[] = [];
  for (let r = 0; r < window.height; r++) {
    const cy = window.y + r + 0.5;
    crossings.length = 0;
    for (const ring of rings) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i];
        const [xj, yj] = ring[j];
        // Half-open rule: an edge counts when cy lies in [min y, max y) so vertices are counted once.
        if (yi > cy !== yj > cy) crossings.push(xi + ((cy - yi) / (yj - yi)) * (xj - xi));
      }
    }
    if (crossings.length < 2) continue;
    crossings.sort((a, b) => a - b);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // Pixel centres c + 0.5 inside [xa, xb).
      const c0 = Math.max(window.x, Math.ceil(crossings[k] - 0.5));
      const c1 = Math.min(window.x + window.width - 1, Math.ceil(crossings[k + 1] - 0.5) - 1);
      for (let c = c0; c <= c1; c++) valid[r * window.width + (c - window.x)] = 0;
    }
  }
}
