import type { PixelWindow, ReadOptions, Scene, SceneInfo, SensorBlock } from '../../../src-main/engine/scene/types';

/**
 * A synthetic scene for render tests: band b at (x, y) holds `value(b, x, y)`; pixels where
 * `invalid(x, y)` are nodata. Records every window read so tests can check memory bounds.
 */
export function fakeScene(width: number, height: number, bands: number, value: (b: number, x: number, y: number) => number, invalid: (x: number, y: number) => boolean = () => false) {
  const reads: PixelWindow[] = [];
  const bandInfo = Array.from({ length: bands }, (_, i) => ({ index: i, name: `B${i + 1}` }));
  const info: SceneInfo = {
    source: 'fake', width, height, referenceSensor: 's', failureRegions: [], geoTransform: [1000, 10, 0, 5000, 0, -10],
    sensors: [{
      id: 's', kind: 'multispectral', file: '/fake.tif', bands: bandInfo, failed: false, resampled: false,
      raster: { path: '/fake.tif', width, height, bandCount: bands, sampleType: 'float32', bands: bandInfo, blockWidth: 256, blockHeight: 256, compression: 'none' },
    }],
  };
  const scene: Scene = {
    info,
    async readWindow(w: PixelWindow, _o?: ReadOptions) {
      if (w.x < 0 || w.y < 0 || w.x + w.width > width || w.y + w.height > height) throw new Error(`window outside scene: ${JSON.stringify(w)}`);
      reads.push(w);
      const plane = w.width * w.height;
      const data = new Float32Array(bands * plane);
      const valid = new Uint8Array(plane);
      for (let y = 0; y < w.height; y++) for (let x = 0; x < w.width; x++) {
        const i = y * w.width + x;
        valid[i] = invalid(w.x + x, w.y + y) ? 0 : 1;
        for (let b = 0; b < bands; b++) data[b * plane + i] = value(b, w.x + x, w.y + y);
      }
      const block: SensorBlock = { sensor: 's', bands, width: w.width, height: w.height, data, valid };
      return new Map([['s', block]]);
    },
    async close() {},
  };
  return { scene, reads };
}
