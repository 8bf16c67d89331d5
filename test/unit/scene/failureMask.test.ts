import { describe, expect, it } from 'vitest';
import { applyFailureRegions } from '../../../src-main/engine/scene/failureMask';
import type { FailureRegion, GeoTransform } from '../../../src-main/engine/scene/types';

function mask(regions: FailureRegion[], window = { x: 0, y: 0, width: 10, height: 10 }, gt?: GeoTransform): string[] {
  const valid = new Uint8Array(window.width * window.height).fill(1);
  applyFailureRegions(valid, window, regions, gt);
  return Array.from({ length: window.height }, (_, r) => Array.from(valid.subarray(r * window.width, (r + 1) * window.width)).join(''));
}

const rect = (x0: number, y0: number, x1: number, y1: number) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];

describe('applyFailureRegions', () => {
  it('clears pixels whose centres fall inside a polygon (pixel coordinates when ungeoreferenced), holes excluded', () => {
    const m = mask([{ sensor: 's', geometry: { type: 'Polygon', coordinates: [rect(2, 1, 8, 7), rect(4, 3, 6, 5)] } }]);
    expect(m).toEqual([
      '1111111111',
      '1100000011',
      '1100000011',
      '1100110011',
      '1100110011',
      '1100000011',
      '1100000011',
      '1111111111',
      '1111111111',
      '1111111111',
    ]);
  });

  it('unites MultiPolygon parts and several regions; respects the window offset', () => {
    const regions: FailureRegion[] = [
      { sensor: 's', geometry: { type: 'MultiPolygon', coordinates: [[rect(0, 0, 2, 2)], [[[9, 9], [12, 9], [12, 12], [9, 12], [9, 9]]]] } },
      { sensor: 's', geometry: { type: 'Polygon', coordinates: [rect(5, 0, 6, 20)] } },
    ];
    expect(mask(regions, { x: 1, y: 1, width: 10, height: 3 })).toEqual(['0111011111', '1111011111', '1111011111']);
  });

  it('maps world coordinates through the geotransform (north-up, negative pixel height)', () => {
    const gt: GeoTransform = [1000, 10, 0, 5000, 0, -10];
    // World rectangle x 1020..1050, y 4970..4990 = columns 2..4, rows 1..2.
    const m = mask([{ sensor: 's', geometry: { type: 'Polygon', coordinates: [rect(1020, 4990, 1050, 4970)] } }], { x: 0, y: 0, width: 6, height: 4 }, gt);
    expect(m).toEqual(['111111', '110001', '110001', '111111']);
  });

  it('a triangle includes exactly the pixel centres inside it', () => {
    const m = mask([{ sensor: 's', geometry: { type: 'Polygon', coordinates: [[[0, 0], [10, 0], [0, 10], [0, 0]]] } }]);
    for (let r = 0; r < 10; r++) for (let c = 0; c < 10; c++) expect(m[r][c], `${c},${r}`).toBe(c + 0.5 + r + 0.5 < 10 ? '0' : '1');
  });
});
