import type { Ring } from './vector';

export type PixelVisitor = (x: number, y: number) => void;

/**
 * Visits the pixels whose centre lies inside the polygon (rings in fractional pixel
 * coordinates), with the even-odd rule so inner rings are holes: GDAL's default rasterisation
 * rule, so our labels match gdal_rasterize. Scanlines run through pixel centres.
 */
export function rasterizePolygon(rings: readonly Ring[], width: number, height: number, visit: PixelVisitor): void {
  const edges = polygonEdges(rings);
  if (edges.length === 0) return;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const [, y0, , y1] of edges) {
    minY = Math.min(minY, y0, y1);
    maxY = Math.max(maxY, y0, y1);
  }
  const rowStart = Math.max(0, Math.ceil(minY - 0.5));
  const rowEnd = Math.min(height - 1, Math.floor(maxY - 0.5));
  const xs: number[] = [];
  for (let row = rowStart; row <= rowEnd; row++) {
    const yc = row + 0.5;
    xs.length = 0;
    for (const [x0, y0, x1, y1] of edges) {
      // Half-open in y so a vertex on the scanline is counted once.
      if ((y0 <= yc && yc < y1) || (y1 <= yc && yc < y0)) xs.push(x0 + ((yc - y0) * (x1 - x0)) / (y1 - y0));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // Pixel column c is inside when xs[k] < c + 0.5 <= xs[k + 1] (GDAL's tie rule).
      const c0 = Math.max(0, Math.floor(xs[k] + 0.5));
      const c1 = Math.min(width - 1, Math.floor(xs[k + 1] + 0.5) - 1);
      for (let c = c0; c <= c1; c++) visit(c, row);
    }
  }
}

function polygonEdges(rings: readonly Ring[]): [number, number, number, number][] {
  const edges: [number, number, number, number][] = [];
  for (const ring of rings) {
    const n = ring.length;
    for (let i = 0; i < n; i++) {
      const p = ring[i];
      const q = ring[(i + 1) % n];
      if (p[1] !== q[1]) edges.push([p[0], p[1], q[0], q[1]]);
    }
  }
  return edges;
}

/**
 * Visits the pixel containing the point and, with `radius` > 0, every pixel whose centre is
 * within `radius` pixels of that pixel's centre (a small disk buffer).
 */
export function rasterizePoint(p: readonly number[], radius: number, width: number, height: number, visit: PixelVisitor): void {
  const cx = Math.floor(p[0]);
  const cy = Math.floor(p[1]);
  const r = Math.floor(radius);
  for (let dy = -r; dy <= r; dy++) {
    for (let dx = -r; dx <= r; dx++) {
      const x = cx + dx;
      const y = cy + dy;
      if (dx * dx + dy * dy <= radius * radius && x >= 0 && y >= 0 && x < width && y < height) visit(x, y);
    }
  }
}
