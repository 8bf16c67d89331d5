import { describe, expect, it } from 'vitest';
import { bandMetadata, formatGdalMetadata, parseGdalMetadata, wavelengthFromText } from '../../../src-main/engine/raster/gdalMetadata';

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

  it('takes the wavelength a band\'s colour name stands for when nothing states one', () => {
    const names = ['Coastal aerosol', 'Blue', 'green', 'Yellow', 'Red', 'Red Edge 1', 'red_edge_2', 'RE3', 'NIR', 'NIR narrow', 'Water vapour', 'Cirrus', 'SWIR1', 'swir 2'];
    const xml = `<GDALMetadata>${names.map((n, i) => `<Item name="DESCRIPTION" sample="${i}" role="description">${n}</Item>`).join('')}</GDALMetadata>`;
    expect(bandMetadata(parseGdalMetadata(xml), names.length).wavelengthsNm).toEqual([443, 490, 560, 610, 665, 705, 740, 783, 842, 865, 945, 1375, 1610, 2190]);
    // whole words only, and no guess for thermal, panchromatic or a bare "SWIR"
    for (const name of ['infrared', 'Bred', 'band 1', 'Thermal', 'PAN', 'SWIR']) expect(wavelengthFromText(name), name).toBeUndefined();
    // a stated wavelength wins over the name
    expect(wavelengthFromText('Red 650nm')).toBe(650);
  });

  it('ignores items for samples beyond the band count and non-numeric wavelengths', () => {
    const m = bandMetadata(parseGdalMetadata('<GDALMetadata><Item name="DESCRIPTION" sample="5">x</Item><Item name="wavelength" sample="0">n/a</Item></GDALMetadata>'), 2);
    expect(m).toEqual({ names: [undefined, undefined], wavelengthsNm: [undefined, undefined] });
  });
});
