/**
 * Sensor kinds guessed from a bare GeoTIFF (scene/kind.ts): band descriptions first, then a
 * single-band file named for what it holds, so that a DSM without a band description is
 * elevation for the packs rather than 'other', which no pack takes.
 */
import { describe, expect, it } from 'vitest';
import { guessSensorKind, type RasterInfo } from '../../../src-main/engine/scene';

const raster = (path: string, bands: string[], sampleType: RasterInfo['sampleType'] = 'float32'): RasterInfo =>
  ({ path, width: 2, height: 2, bandCount: bands.length, sampleType, bands: bands.map((name, index) => ({ index, name })) }) as RasterInfo;

describe('sensor kind guesses', () => {
  it('reads band descriptions', () => {
    expect(guessSensorKind(raster('/d/s1.tif', ['VV', 'VH']))).toBe('sar');
    expect(guessSensorKind(raster('/d/x.tif', ['elevation']))).toBe('dem');
    expect(guessSensorKind(raster('/d/x.tif', ['B1', 'B2', 'B3', 'B4']))).toBe('multispectral');
  });

  it('takes a file named for LiDAR or elevation as such, whatever its bands are called', () => {
    expect(guessSensorKind(raster('/data/houston_dsm.tif', ['band 1']))).toBe('lidar');
    expect(guessSensorKind(raster('C:\\data\\lidar2013.tif', ['1', '2', '3', '4']))).toBe('lidar');
    expect(guessSensorKind(raster('/data/srtm_30m.tif', ['band 1']))).toBe('dem');
    // words, not substrings: "demo" and "random" say nothing
    expect(guessSensorKind(raster('/data/demo_random.tif', ['band 1']))).toBe('other');
    // a several-band file named dem is not taken for elevation
    expect(guessSensorKind(raster('/data/dem.tif', ['a', 'b']))).toBe('other');
  });
});
