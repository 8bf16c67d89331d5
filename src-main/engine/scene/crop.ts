/**
 * A window of a scene as a scene of its own: what fine-tuning and training read when the labels
 * cover part of a large scene (labels/window.ts labelledArea), so that they hold the labelled
 * area in memory rather than the whole scene. Reads are offset into the parent; the
 * georeferencing moves with the window's origin.
 */
import type { GeoTransform, PixelWindow, ReadOptions, Scene, SceneInfo, SensorBlock } from './types';

export function cropScene(scene: Scene, window: PixelWindow): Scene {
  const { info } = scene;
  if (window.x === 0 && window.y === 0 && window.width === info.width && window.height === info.height) return scene;
  if (window.x < 0 || window.y < 0 || window.width < 1 || window.height < 1 || window.x + window.width > info.width || window.y + window.height > info.height)
    throw new RangeError(`crop window ${JSON.stringify(window)} is not within the ${info.width} x ${info.height} scene ${info.source}`);
  return new CroppedScene(scene, window);
}

/** The geotransform of a grid starting at pixel (x, y) of `t`'s grid. */
export function shiftedGeoTransform(t: GeoTransform, x: number, y: number): GeoTransform {
  return [t[0] + x * t[1] + y * t[2], t[1], t[2], t[3] + x * t[4] + y * t[5], t[4], t[5]];
}

class CroppedScene implements Scene {
  readonly info: SceneInfo;

  constructor(
    private readonly inner: Scene,
    private readonly window: PixelWindow,
  ) {
    const { geoTransform } = inner.info;
    // the raw georeferencing tags describe the parent's grid: a writer copying them would misplace a crop's output
    this.info = { ...inner.info, width: window.width, height: window.height, geoTransform: geoTransform && shiftedGeoTransform(geoTransform, window.x, window.y), georeferencing: undefined };
  }

  readWindow(window: PixelWindow, options?: ReadOptions): Promise<Map<string, SensorBlock>> {
    return this.inner.readWindow({ ...window, x: window.x + this.window.x, y: window.y + this.window.y }, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
