/**
 * The map's tile scheme, shared by the engine renderer and the UI.
 *
 * Tiles live in the scene's own pixel space, not in web mercator: the scene is reprojected
 * nowhere, so tiles are exact pixels of the reference grid. The maplibre world is a square of
 * `extent` scene pixels (a power-of-two multiple of the tile size, at least twice the scene's
 * longer side) with the scene's top-left pixel at (`offset`, `offset`) = a quarter of the way
 * in, so there is margin on every side and maplibre never has to clamp the camera at the
 * world's edge. At tile zoom z a tile covers `TILE_SIZE * 2^(maxZoom - z)` scene pixels per side
 * (at maxZoom one tile = 256 x 256 scene pixels; above that maplibre over-zooms with
 * nearest-neighbour resampling).
 * Scene coordinates and lon/lat for display come from the geotransform and the CRS, never from
 * the map's fake mercator lon/lat.
 */
export const TILE_SIZE = 256;

export interface TileGrid {
  width: number;
  height: number;
  maxZoom: number;
  /** World size in scene pixels. */
  extent: number;
  /** Where the scene's pixel (0, 0) lies in the world, in scene pixels from its top-left. */
  offset: number;
}

export interface TileWindow {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Scene pixels per tile pixel (1 at maxZoom, 2^k above). */
  step: number;
}

export function tileGridFor(width: number, height: number): TileGrid {
  const maxZoom = Math.max(0, Math.ceil(Math.log2(Math.max(width, height, 1) / TILE_SIZE))) + 1;
  const extent = TILE_SIZE * 2 ** maxZoom;
  return { width, height, maxZoom, extent, offset: extent / 4 };
}

/** The scene-pixel window a tile covers (may extend past the scene edge). */
export function tileWindow(grid: TileGrid, z: number, x: number, y: number): TileWindow {
  const step = 2 ** (grid.maxZoom - z);
  const size = TILE_SIZE * step;
  return { x: x * size - grid.offset, y: y * size - grid.offset, width: size, height: size, step };
}

export function tileExists(grid: TileGrid, z: number, x: number, y: number): boolean {
  if (z < 0 || z > grid.maxZoom || x < 0 || y < 0 || x >= 2 ** z || y >= 2 ** z) return false;
  const w = tileWindow(grid, z, x, y);
  return w.x < grid.width && w.y < grid.height && w.x + w.width > 0 && w.y + w.height > 0;
}

const MAX_LAT = 85.0511287798066;

/** Scene pixel -> the map's lon/lat (web-mercator world of `extent` pixels). */
export function pixelToMapLngLat(grid: TileGrid, px: number, py: number): [number, number] {
  const u = (px + grid.offset) / grid.extent;
  const v = (py + grid.offset) / grid.extent;
  const lng = u * 360 - 180;
  const lat = (Math.atan(Math.sinh(Math.PI * (1 - 2 * v))) * 180) / Math.PI;
  return [lng, lat];
}

export function mapLngLatToPixel(grid: TileGrid, lng: number, lat: number): [number, number] {
  const u = (lng + 180) / 360;
  const clamped = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat));
  const s = Math.sin((clamped * Math.PI) / 180);
  const v = 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
  return [u * grid.extent - grid.offset, v * grid.extent - grid.offset];
}

/** Scene pixel -> scene CRS via the GDAL-order geotransform. */
export function pixelToCrs(gt: readonly number[], px: number, py: number): [number, number] {
  return [gt[0] + px * gt[1] + py * gt[2], gt[3] + px * gt[4] + py * gt[5]];
}

export function crsToPixel(gt: readonly number[], x: number, y: number): [number, number] {
  const det = gt[1] * gt[5] - gt[2] * gt[4];
  const dx = x - gt[0];
  const dy = y - gt[3];
  return [(dx * gt[5] - dy * gt[2]) / det, (dy * gt[1] - dx * gt[4]) / det];
}

/** Ground metres (CRS units) per CSS pixel at a maplibre zoom (512-px world at zoom 0). */
export function unitsPerScreenPixel(grid: TileGrid, gt: readonly number[], zoom: number): number {
  const scenePixelsPerScreenPixel = grid.extent / (512 * 2 ** zoom);
  return scenePixelsPerScreenPixel * Math.hypot(gt[1], gt[4]);
}
