import { describe, expect, it } from 'vitest';
import { needsBigTiff } from '../../../src-main/engine/raster/writer';

describe('needsBigTiff', () => {
  it('keeps classic TIFF while the uncompressed worst case fits 4 GB', () => {
    expect(needsBigTiff({ width: 8192, height: 8192, bands: 13, sampleType: 'uint16' })).toBe(false);
    expect(needsBigTiff({ width: 65536, height: 65536, sampleType: 'uint8' })).toBe(true);
    expect(needsBigTiff({ width: 20000, height: 20000, bands: 3, sampleType: 'float32' })).toBe(true);
  });

  it('follows an explicit choice', () => {
    expect(needsBigTiff({ width: 10, height: 10, sampleType: 'uint8', bigTiff: true })).toBe(true);
    expect(needsBigTiff({ width: 65536, height: 65536, sampleType: 'uint8', bigTiff: false })).toBe(false);
  });
});
