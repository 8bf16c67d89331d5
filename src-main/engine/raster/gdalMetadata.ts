/**
 * Reads and writes the GDAL_METADATA TIFF tag (an XML list of <Item name sample role domain>),
 * where GDAL keeps band descriptions and where ENVI-derived files keep wavelengths.
 */

export interface MetadataItem {
  name: string;
  value: string;
  sample?: number;
  role?: string;
  domain?: string;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" };

function decodeEntities(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos);/g, (m) => ENTITIES[m]);
}

function encodeEntities(s: string): string {
  return s.replace(/[&<>"']/g, (c) => Object.keys(ENTITIES).find((k) => ENTITIES[k] === c) ?? c);
}

export function parseGdalMetadata(xml: string | undefined): MetadataItem[] {
  if (!xml) return [];
  const items: MetadataItem[] = [];
  for (const m of xml.matchAll(/<Item\b([^>]*)>([\s\S]*?)<\/Item>/g)) {
    const attrs: Record<string, string> = {};
    for (const a of m[1].matchAll(/(\w+)\s*=\s*"([^"]*)"/g)) attrs[a[1].toLowerCase()] = decodeEntities(a[2]);
    if (attrs.name === undefined) continue;
    const item: MetadataItem = { name: attrs.name, value: decodeEntities(m[2]).trim() };
    if (attrs.sample !== undefined) item.sample = Number(attrs.sample);
    if (attrs.role !== undefined) item.role = attrs.role;
    if (attrs.domain !== undefined) item.domain = attrs.domain;
    items.push(item);
  }
  return items;
}

export function formatGdalMetadata(items: readonly MetadataItem[]): string {
  const lines = items.map((it) => {
    const attrs = [`name="${encodeEntities(it.name)}"`];
    if (it.sample !== undefined) attrs.push(`sample="${it.sample}"`);
    if (it.role !== undefined) attrs.push(`role="${encodeEntities(it.role)}"`);
    if (it.domain !== undefined) attrs.push(`domain="${encodeEntities(it.domain)}"`);
    return `  <Item ${attrs.join(' ')}>${encodeEntities(it.value)}</Item>`;
  });
  return `<GDALMetadata>\n${lines.join('\n')}\n</GDALMetadata>`;
}

/** Names and wavelengths found in the metadata for each band (undefined where absent). */
export interface BandMetadata {
  names: (string | undefined)[];
  wavelengthsNm: (number | undefined)[];
}

const MICROMETRE_UNITS = /^(um|µm|micron|microns|micrometers?|micrometres?)$/i;
const NANOMETRE_UNITS = /^(nm|nanometers?|nanometres?)$/i;

/**
 * A wavelength in nm from a number and an optional unit. Without a unit, values under 30 are
 * taken as micrometres (no sensor we read has bands below 30 nm, ENVI files often store um).
 */
function toNanometres(value: number, unit: string | undefined): number | undefined {
  if (!Number.isFinite(value) || value <= 0) return undefined;
  if (unit && MICROMETRE_UNITS.test(unit.trim())) return value * 1000;
  if (unit && NANOMETRE_UNITS.test(unit.trim())) return value;
  return value < 30 ? value * 1000 : value;
}

/**
 * The wavelength a band description states ("B4 835nm", "Band 2 (0.56 um)"), else the centre
 * its colour name stands for ("Blue", "NIR", "Red Edge 2", "SWIR1": BAND_NAME_WAVELENGTHS), so
 * that a file whose bands are only named still feeds a wavelength-conditioned pack.
 */
export function wavelengthFromText(text: string): number | undefined {
  const m = /(\d+(?:\.\d+)?)\s*(nm|um|µm)\b/i.exec(text);
  if (m) return toNanometres(Number(m[1]), m[2]);
  return BAND_NAME_WAVELENGTHS.find(([name]) => name.test(text))?.[1];
}

/**
 * Colour names of optical bands and the centre each stands for (nm; Sentinel-2's where it has
 * the band, PlanetScope's yellow), most specific first ("red edge" before "red", "nir narrow"
 * before "nir"). Whole words only: "Bred" or "infrared" are not red.
 */
const BAND_NAME_WAVELENGTHS: [RegExp, number][] = [
  [/\b(coastal|aerosol|ultra[ _-]?blue)\b/i, 443],
  [/\bred[ _-]?edge[ _-]?2\b|\bre2\b/i, 740],
  [/\bred[ _-]?edge[ _-]?3\b|\bre3\b/i, 783],
  [/\bred[ _-]?edge[ _-]?1?\b|\bre1\b/i, 705],
  [/\b(nir[ _-]?(narrow|08|2)|narrow[ _-]?nir)\b/i, 865],
  [/\b(nir[ _-]?1?|near[ _-]?infra[ _-]?red)\b/i, 842],
  [/\b(water[ _-]?vapou?r)\b/i, 945],
  [/\bcirrus\b/i, 1375],
  [/\bswir[ _-]?(1|16)\b/i, 1610],
  [/\bswir[ _-]?(2|22)\b/i, 2190],
  [/\bblue\b/i, 490],
  [/\bgreen\b/i, 560],
  [/\byellow\b/i, 610],
  [/\bred\b/i, 665],
];

/** ENVI list syntax: "{ 400.0, 410.5 }". */
function parseEnviList(value: string): string[] {
  return value.replace(/^\s*\{|\}\s*$/g, '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

const WAVELENGTH_ITEM = /^(wavelength|wavelength_nm|central_wavelength_um|center_wavelength|centre_wavelength)$/i;

export function bandMetadata(items: readonly MetadataItem[], bandCount: number): BandMetadata {
  const names: (string | undefined)[] = new Array(bandCount).fill(undefined);
  const wavelengthsNm: (number | undefined)[] = new Array(bandCount).fill(undefined);
  const datasetUnit = items.find((it) => it.sample === undefined && /^wavelength_units$/i.test(it.name))?.value;

  // Dataset-level ENVI lists first; per-band items override them.
  for (const it of items) {
    if (it.sample !== undefined) continue;
    if (/^wavelength$/i.test(it.name)) {
      parseEnviList(it.value).forEach((v, i) => {
        if (i < bandCount) wavelengthsNm[i] = toNanometres(Number(v), datasetUnit);
      });
    } else if (/^band_names$/i.test(it.name)) {
      parseEnviList(it.value).forEach((v, i) => {
        if (i < bandCount) names[i] = v;
      });
    }
  }
  for (const it of items) {
    const b = it.sample;
    if (b === undefined || b < 0 || b >= bandCount) continue;
    if (/^description$/i.test(it.name) && it.value) {
      names[b] = it.value;
      wavelengthsNm[b] ??= wavelengthFromText(it.value);
    } else if (WAVELENGTH_ITEM.test(it.name)) {
      const unit = /_um$/i.test(it.name)
        ? 'um'
        : /_nm$/i.test(it.name)
          ? 'nm'
          : (items.find((u) => u.sample === b && /^wavelength_units$/i.test(u.name))?.value ?? datasetUnit);
      const nm = toNanometres(Number(it.value), unit);
      if (nm !== undefined) wavelengthsNm[b] = nm;
    }
  }
  return { names, wavelengthsNm };
}
