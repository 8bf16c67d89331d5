/** Reading written rasters back in tests. */
import { openRaster } from '../../src-main/engine/raster';

/** Every pixel of a GeoTIFF, band-major float32. */
export async function readAll(file: string): Promise<Float32Array> {
  const r = await openRaster(file);
  try {
    return await r.readWindow({ x: 0, y: 0, width: r.info.width, height: r.info.height });
  } finally {
    await r.close();
  }
}
