import { describe, expect, it } from 'vitest';
import { crsFromGeoKeys, crsLabel, proj4ForEpsg, sameCrs } from '../../../src-main/engine/raster/crs';

describe('proj4ForEpsg', () => {
  // Expected strings are what `gdalsrsinfo -o proj4 EPSG:n` prints (GDAL 3.6).
  it.each([
    [32633, '+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs'],
    [32735, '+proj=utm +zone=35 +south +datum=WGS84 +units=m +no_defs'],
    [26917, '+proj=utm +zone=17 +datum=NAD83 +units=m +no_defs'],
    [25832, '+proj=utm +zone=32 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs'],
    [31985, '+proj=utm +zone=25 +south +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs'],
    [31983, '+proj=utm +zone=23 +south +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs'],
    [3358, '+proj=lcc +lat_0=33.75 +lon_0=-79 +lat_1=36.1666666666667 +lat_2=34.3333333333333 +x_0=609601.22 +y_0=0 +ellps=GRS80 +units=m +no_defs'],
  ])('EPSG:%i', (epsg, proj4) => {
    expect(proj4ForEpsg(epsg)).toBe(proj4);
  });

  it('is undefined for codes it cannot derive', () => {
    expect(proj4ForEpsg(2154)).toBeUndefined();
  });
});

describe('crsFromGeoKeys', () => {
  it('prefers the projected code, falls back to geographic, names from citations', () => {
    expect(crsFromGeoKeys({ GTModelTypeGeoKey: 1, ProjectedCSTypeGeoKey: 3358, GeographicTypeGeoKey: 4152, GTCitationGeoKey: 'NAD83(HARN) / North Carolina|' })).toMatchObject({ epsg: 3358, name: 'NAD83(HARN) / North Carolina' });
    expect(crsFromGeoKeys({ GTModelTypeGeoKey: 2, GeographicTypeGeoKey: 4326, GeogCitationGeoKey: 'WGS 84' })).toEqual({ epsg: 4326, proj4: '+proj=longlat +datum=WGS84 +no_defs', name: 'WGS 84' });
  });

  it('user-defined CRSs keep only their name; no keys means no CRS', () => {
    expect(crsFromGeoKeys({ GTModelTypeGeoKey: 1, ProjectedCSTypeGeoKey: 32767, GTCitationGeoKey: 'Custom LCC' })).toEqual({ name: 'Custom LCC' });
    expect(crsFromGeoKeys(null)).toBeUndefined();
  });

  it('compares and labels CRSs', () => {
    expect(sameCrs({ epsg: 32633 }, { epsg: 32633, name: 'x' })).toBe(true);
    expect(sameCrs({ epsg: 32633 }, { epsg: 32632 })).toBe(false);
    expect(sameCrs(undefined, undefined)).toBe(true);
    expect(sameCrs({ epsg: 4326 }, undefined)).toBe(false);
    expect(crsLabel({ epsg: 4326 })).toBe('EPSG:4326');
    expect(crsLabel(undefined)).toBe('no CRS');
  });
});
