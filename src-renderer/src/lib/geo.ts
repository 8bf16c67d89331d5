import proj4 from 'proj4';
import type { PolygonGeometry, SceneInfo } from '../../../src-main/ipc/contract';
import { crsToPixel, mapLngLatToPixel, pixelToCrs, pixelToMapLngLat, tileGridFor, unitsPerScreenPixel, type TileGrid } from '../../../src-main/ipc/tile-grid';

type Ring = [number, number][];

/**
 * Coordinates of one scene: the map's pixel-space lon/lat (see ipc/tile-grid.ts), scene pixels,
 * the scene CRS (geotransform) and true lon/lat (proj4). Labels and failure regions are stored
 * in the scene CRS; only display uses map coordinates.
 */
export class SceneGeo {
  readonly grid: TileGrid;
  readonly gt: number[];
  private readonly toWgs84?: (xy: [number, number]) => [number, number];
  readonly crsName: string;

  constructor(info: SceneInfo) {
    this.grid = tileGridFor(info.width, info.height);
    this.gt = info.geoTransform ? [...info.geoTransform] : [0, 1, 0, 0, 0, 1];
    this.crsName = info.crs?.epsg ? `EPSG:${info.crs.epsg}` : info.crs?.name ?? (info.geoTransform ? 'scene CRS' : 'pixels');
    if (info.crs?.proj4) {
      try {
        const converter = proj4(info.crs.proj4, 'EPSG:4326');
        this.toWgs84 = (xy) => converter.forward(xy) as [number, number];
      } catch {
        this.toWgs84 = undefined;
      }
    }
  }

  mapToPixel(lng: number, lat: number): [number, number] {
    return mapLngLatToPixel(this.grid, lng, lat);
  }
  pixelToMap(px: number, py: number): [number, number] {
    return pixelToMapLngLat(this.grid, px, py);
  }
  mapToCrs(lng: number, lat: number): [number, number] {
    const [px, py] = this.mapToPixel(lng, lat);
    return pixelToCrs(this.gt, px, py);
  }
  crsToMap(x: number, y: number): [number, number] {
    const [px, py] = crsToPixel(this.gt, x, y);
    return this.pixelToMap(px, py);
  }
  crsToLonLat(x: number, y: number): [number, number] | null {
    return this.toWgs84 ? this.toWgs84([x, y]) : null;
  }
  pixelToCrs(px: number, py: number): [number, number] {
    return pixelToCrs(this.gt, px, py);
  }
  crsToPixel(x: number, y: number): [number, number] {
    return crsToPixel(this.gt, x, y);
  }
  /** Scene bounds as map [west, south, east, north]. */
  mapBounds(): [number, number, number, number] {
    const [w, n] = this.pixelToMap(0, 0);
    const [e, s] = this.pixelToMap(this.grid.width, this.grid.height);
    return [w, s, e, n];
  }
  unitsPerScreenPixel(zoom: number): number {
    return unitsPerScreenPixel(this.grid, this.gt, zoom);
  }
  geometryToMap(g: PolygonGeometry): PolygonGeometry {
    const ring = (r: number[][]) => r.map(([x, y]) => this.crsToMap(x, y));
    return g.type === 'Polygon'
      ? { type: 'Polygon', coordinates: g.coordinates.map(ring) }
      : { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map(ring)) };
  }
  /** Area in scene pixels (for counts per class). */
  pixelArea(g: PolygonGeometry): number {
    const ringArea = (r: number[][]) => {
      const px = r.map(([x, y]) => this.crsToPixel(x, y));
      let a = 0;
      for (let i = 0; i < px.length; i++) {
        const [x1, y1] = px[i];
        const [x2, y2] = px[(i + 1) % px.length];
        a += x1 * y2 - x2 * y1;
      }
      return Math.abs(a) / 2;
    };
    const polyArea = (p: number[][][]) => ringArea(p[0]) - p.slice(1).reduce((s, h) => s + ringArea(h), 0);
    return g.type === 'Polygon' ? polyArea(g.coordinates) : g.coordinates.reduce((s, p) => s + polyArea(p), 0);
  }
}

export function closeRing(points: [number, number][]): Ring {
  return [...points, points[0]];
}

/** Scene-pixel cells painted by a brush as non-overlapping row-run rectangles (a valid MultiPolygon). */
export function cellsToRuns(cells: Set<string>): [number, number, number][] {
  const rows = new Map<number, number[]>();
  for (const c of cells) {
    const [x, y] = c.split(',').map(Number);
    (rows.get(y) ?? rows.set(y, []).get(y)!).push(x);
  }
  const runs: [number, number, number][] = [];
  for (const [y, xs] of rows) {
    xs.sort((a, b) => a - b);
    let start = xs[0];
    let prev = xs[0];
    for (const x of xs.slice(1).concat([Infinity])) {
      if (x !== prev + 1) {
        runs.push([y, start, prev + 1]);
        start = x;
      }
      prev = x;
    }
  }
  return runs;
}

export function niceScale(unitsPerPixel: number, targetPx = 110): { px: number; label: string } {
  const raw = unitsPerPixel * targetPx;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const nice = [5, 2, 1].map((m) => m * pow).find((v) => v <= raw) ?? pow;
  const label = nice >= 1000 ? `${nice / 1000} km` : `${nice} m`;
  return { px: nice / unitsPerPixel, label };
}
