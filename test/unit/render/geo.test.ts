import { describe, expect, it } from 'vitest';
import { SceneGeo, cellsToRuns, niceScale } from '../../../src-renderer/src/lib/geo';
import { openScene } from '../../../src-main/engine/scene/scene';
import { sharedData } from '../../helpers/paths';

describe('renderer geometry helpers', () => {
  it('turns brush cells into non-overlapping row runs covering exactly those cells', () => {
    const cells = new Set(['1,1', '2,1', '3,1', '5,1', '2,2']);
    const runs = cellsToRuns(cells).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(runs).toEqual([[1, 1, 4], [1, 5, 6], [2, 2, 3]]);
  });

  it('picks a round scale-bar length no longer than the target', () => {
    expect(niceScale(19.4)).toEqual({ px: 2000 / 19.4, label: '2 km' });
    expect(niceScale(0.5)).toEqual({ px: 100, label: '50 m' });
  });

  it('maps the cursor to the scene CRS and to lon/lat as GDAL does (nc-landsat7, EPSG:3358)', async () => {
    const scene = await openScene(sharedData('nc-landsat7'));
    const geo = new SceneGeo(scene.info);
    await scene.close();
    expect(geo.crsName).toBe('EPSG:3358');
    // The map's lon/lat of the upper-left corner goes back to scene pixel (0, 0) and CRS origin.
    const [mlng, mlat] = geo.pixelToMap(0, 0);
    const [x, y] = geo.mapToCrs(mlng, mlat);
    expect(x).toBeCloseTo(630534, 3);
    expect(y).toBeCloseTo(228114, 3);
    // gdalinfo: Upper Left (630534.000, 228114.000) (78d46' 6.18"W, 35d48'22.03"N)
    const [lon, lat] = geo.crsToLonLat(x, y)!;
    expect(lon).toBeCloseTo(-(78 + 46 / 60 + 6.18 / 3600), 4);
    expect(lat).toBeCloseTo(35 + 48 / 60 + 22.03 / 3600, 4);
    // A 10 x 10 pixel square is 100 pixels, whatever the CRS units.
    const ring = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]].map(([px, py]) => geo.pixelToCrs(px, py));
    expect(geo.pixelArea({ type: 'Polygon', coordinates: [ring] })).toBeCloseTo(100, 6);
    const [w, s, e, n] = geo.mapBounds();
    expect(w).toBeLessThan(e);
    expect(s).toBeLessThan(n);
  });
});
