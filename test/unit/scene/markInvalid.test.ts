import { describe, expect, it } from 'vitest';
import { markInvalid } from '../../../src-main/engine/scene/scene';

/** The rule written the plain way: invalid where any band is NaN or every band equals nodata. */
function reference(data: Float32Array, bands: number, plane: number, nodata: number | undefined): Uint8Array {
  const valid = new Uint8Array(plane);
  for (let i = 0; i < plane; i++) {
    let nan = false;
    let allNodata = nodata !== undefined && !Number.isNaN(nodata);
    for (let b = 0; b < bands; b++) {
      const v = data[b * plane + i];
      if (Number.isNaN(v)) nan = true;
      if (v !== Math.fround(nodata ?? NaN)) allNodata = false;
    }
    valid[i] = nan || allNodata ? 0 : 1;
  }
  return valid;
}

/** Random pixels drawn mostly from {nodata, NaN, 1, 2}, so every mix of the rules occurs. */
function mixedData(bands: number, plane: number, nodata: number, nan: boolean, seed: number): Float32Array {
  let s = seed;
  const next = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const data = new Float32Array(bands * plane);
  for (let i = 0; i < plane; i++) {
    const kind = next();
    for (let b = 0; b < bands; b++) {
      const r = next();
      // A third of the pixels are nodata in every band; the rest mix values, nodata and NaN.
      data[b * plane + i] = kind < 0.33 ? nodata : nan && r < 0.05 ? NaN : r < 0.4 ? nodata : 1 + Math.floor(r * 4);
    }
  }
  return data;
}

describe('markInvalid', () => {
  it('agrees with the plain rule for any mix of NaN, nodata and values', () => {
    for (const [bands, nodata] of [[1, 0], [3, 0], [13, 0], [6, -9999.5], [4, 1]] as const) {
      const plane = 997;
      const data = mixedData(bands, plane, nodata, true, bands * 31 + 7);
      const valid = new Uint8Array(plane).fill(1);
      markInvalid(data, bands, plane, nodata, valid);
      expect(Buffer.from(valid)).toEqual(Buffer.from(reference(data, bands, plane, nodata)));
      const invalid = valid.length - valid.reduce((a, v) => a + v, 0);
      expect(invalid).toBeGreaterThan(plane / 4);
      expect(invalid).toBeLessThan(plane);
    }
  });

  it('gives the same result without the NaN scan on data that holds no NaN', () => {
    const plane = 2048;
    const data = mixedData(13, plane, 0, false, 3);
    const scanned = new Uint8Array(plane).fill(1);
    const unscanned = new Uint8Array(plane).fill(1);
    markInvalid(data, 13, plane, 0, scanned, true);
    markInvalid(data, 13, plane, 0, unscanned, false);
    expect(Buffer.from(unscanned)).toEqual(Buffer.from(scanned));
    expect(Buffer.from(unscanned)).toEqual(Buffer.from(reference(data, 13, plane, 0)));
  });

  it('reads an infinite value as NaN: invalid, and no longer in the data for statistics to average', () => {
    const data = Float32Array.from([Infinity, 1, 2, /* band 2 */ 3, -Infinity, 4]);
    const valid = new Uint8Array(3).fill(1);
    markInvalid(data, 2, 3, undefined, valid);
    expect([...valid]).toEqual([0, 0, 1]);
    expect([...data].map(Number.isNaN)).toEqual([true, false, false, false, true, false]);
  });

  it('uses NaN alone when there is no nodata (or nodata is NaN), and leaves valid pixels as they were', () => {
    const data = Float32Array.from([NaN, 0, 0, 5, /* band 2 */ 0, 0, NaN, 5]);
    for (const nodata of [undefined, NaN]) {
      const valid = Uint8Array.from([1, 1, 1, 0]);
      markInvalid(data, 2, 4, nodata, valid);
      expect([...valid]).toEqual([0, 1, 0, 0]);
    }
    const valid = new Uint8Array(4).fill(1);
    markInvalid(data, 2, 4, 0, valid);
    expect([...valid]).toEqual([0, 0, 0, 1]);
  });
});
