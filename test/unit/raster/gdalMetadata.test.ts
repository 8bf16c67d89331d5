import { describe, expect, it } from 'vitest';
import { bandMetadata, formatGdalMetadata, parseGdalMetadata } from '../../../src-main/engine/raster/gdalMetadata';

describe('GDAL_METADATA', () => {
  it('round-trips items with entities', () => {
    const items = [
      { name: 'DESCRIPTION', sample: 0, role: 'description', value: 'B1 <blue> & "coastal"' },
      { name: 'AREA_OR_POINT', value: 'Area' },
    ];
    expect(parseGdalMetadata(formatGdalMetadata(items))).toEqual(items);
  });

  it('takes names from descriptions and wavelengths from items, lists or description text', () => {
    const xml = `<GDALMetadata>
  <Item name="wavelength" domain="ENVI">{ 0.45, 0.55, 0.65, 0.85 }</Item>
  <Item name="DESCRIPTION" sample="0" role="description">Blue 485nm</Item>
  <Item name="DESCRIPTION" sample="1" role="description">green</Item>
  <Item name="CENTRAL_WAVELENGTH_UM" sample="2">0.665</Item>
  <Item name="wavelength" sample="3">842</Item>
  <Item name="wavelength_units" sample="3">nm</Item>
</GDALMetadata>`;
    const m = bandMetadata(parseGdalMetadata(xml), 4);
    expect(m.names).toEqual(['Blue 485nm', 'green', undefined, undefined]);
    expect(m.wavelengthsNm).toEqual([450, 550, 665, 842]);
  });

  it('ignores items for samples beyond the band count and non-numeric wavelengths', () => {
    const m = bandMetadata(parseGdalMetadata('<GDALMetadata><Item name="DESCRIPTION" sample="5">x</Item><Item name="wavelength" sample="0">n/a</Item></GDALMetadata>'), 2);
    expect(m).toEqual({ names: [undefined, undefined], wavelengthsNm: [undefined, undefined] });
  });
});
