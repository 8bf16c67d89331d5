import { describe, expect, it } from 'vitest';
import { axisSamples, planGrid, resampleBlock } from '../../../src-main/engine/scene/grid';
import type { RasterInfo } from '../../../src-main/engine/scene/types';
import { FieldMoeError } from '../../../src-main/engine/util/errors';

function raster(over: Partial<RasterInfo>): RasterInfo {
  return { path: '/x.tif', width: 10, height: 10, bandCount: 1, sampleType: 'float32', bands: [{ index: 0, name: 'b' }], blockWidth: 10, blockHeight: 10, compression: 'NONE', crs: { epsg: 32633 }, geoTransform: [0, 10, 0, 100, 0, -10], ...over };
}

describe('planGrid', () => {
  it('is the identity on the same grid', () => {
    const m = planGrid('scene', { id: 'a', raster: raster({}) }, { id: 'b', raster: raster({}) }, 'nearest');
    expect(m.identity).toBe(true);
  });

  it('maps reference pixel centres into source pixel coordinates', () => {
    // Source pixels are 3x larger and start 10 m further east.
    const m = planGrid('scene', { id: 'a', raster: raster({}) }, { id: 'b', raster: raster({ geoTransform: [10, 30, 0, 100, 0, -30] }) }, 'bilinear');
    expect(m.identity).toBe(false);
    // Reference column 1 has its centre at x = 15, i.e. 5/30 into source pixel 0, whose centre is 0.5.
    expect(m.col.scale * 1 + m.col.offset).toBeCloseTo(5 / 30 - 0.5, 12);
    expect(m.row.scale * 0 + m.row.offset).toBeCloseTo(5 / 30 - 0.5, 12);
  });

  it('refuses other CRSs, rotated grids and half-georeferenced pairs', () => {
    const cases = [
      raster({ crs: { epsg: 4326 }, geoTransform: [0, 1e-4, 0, 0, 0, -1e-4] }),
      raster({ geoTransform: [0, 10, 1, 100, 1, -10] }),
      raster({ crs: undefined, geoTransform: undefined }),
    ];
    for (const c of cases) {
      expect(() => planGrid('scene.json', { id: 'a', raster: raster({}) }, { id: 'b', raster: c }, 'nearest')).toThrow(FieldMoeError);
    }
  });
});

describe('axisSamples and resampleBlock', () => {
  it('nearest and bilinear on a 2x upsampling', () => {
    // Source 2 px wide, reference 4 px: reference centres at source coords -0.25, 0.25, 0.75, 1.25.
    const axis = { scale: 0.5, offset: -0.25 };
    const cols = axisSamples(axis, 0, 4);
    const rows = axisSamples({ scale: 1, offset: 0 }, 0, 1);
    expect(cols.start).toBe(-1);
    const src = new Float32Array([NaN, 10, 20, NaN]); // source window starts at column -1 (outside: NaN)
    const srcValid = new Uint8Array([0, 1, 1, 0]);
    const out = new Float32Array(4);
    const valid = new Uint8Array(4);
    resampleBlock(src, srcValid, 4, 1, 1, cols, rows, 'bilinear', out, valid);
    // Middle pixels interpolate; edge pixels fall back to nearest because a neighbour is invalid.
    expect(Array.from(out)).toEqual([10, 12.5, 17.5, 20]);
    expect(Array.from(valid)).toEqual([1, 1, 1, 1]);
    resampleBlock(src, srcValid, 4, 1, 1, cols, rows, 'nearest', out, valid);
    expect(Array.from(out)).toEqual([10, 10, 20, 20]);
  });
});
