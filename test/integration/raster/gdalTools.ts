/**
 * Test helpers that call GDAL (gdal-bin and /usr/bin/python3 with osgeo.gdal) to make inputs
 * and to check outputs independently of our own reader and writer.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const PYTHON = '/usr/bin/python3';

export function tempDir(prefix = 'fieldmoe-raster-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a Python snippet (with numpy as np and osgeo.gdal as gdal imported) and parses its JSON stdout. */
export function python<T = unknown>(code: string, args: Record<string, unknown> = {}): T {
  const script = `import json, sys\nimport numpy as np\nfrom osgeo import gdal\ngdal.UseExceptions()\nargs = json.loads(sys.argv[1])\n${code}\n`;
  const out = execFileSync(PYTHON, ['-c', script, JSON.stringify(args)], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(out) as T;
}

export interface GdalInfo {
  size: [number, number];
  geoTransform?: number[];
  stac?: { 'proj:epsg'?: number | null };
  metadata: Record<string, Record<string, string>>;
  bands: {
    band: number;
    block: [number, number];
    type: string;
    description?: string;
    noDataValue?: number | string;
    colorInterpretation?: string;
    colorTable?: { count: number; entries: number[][] };
    metadata?: Record<string, Record<string, string>>;
  }[];
}

export function gdalinfo(file: string): GdalInfo {
  return JSON.parse(run('gdalinfo', ['-json', file])) as GdalInfo;
}

/** All pixels of a raster as GDAL reads them, band-major float64 (bands x rows x cols). */
export function readWithGdal(file: string): Float64Array {
  const out = `${file}.${process.pid}.f64`;
  python(`ds = gdal.Open(args['f'])\na = ds.ReadAsArray().astype('<f8')\na.tofile(args['out'])\nprint('null')`, { f: file, out });
  const buf = readFileSync(out);
  rmSync(out);
  return new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
}

/** The value our deterministic test rasters hold at band b, row y, column x (see makeRaster). */
export function patternValue(type: string, b: number, y: number, x: number): number {
  const base = (b * 7919 + y * 131 + x * 17) % 251;
  const signed = type.startsWith('int') ? base - 125 : base;
  const scale: Record<string, number> = { uint8: 1, int8: 1, uint16: 257, int16: 257, uint32: 16777259, int32: 16777259, float32: 1.5, float64: 1.5 };
  return signed * scale[type];
}

const GDAL_TYPE: Record<string, string> = {
  uint8: 'Byte', int8: 'Byte', uint16: 'UInt16', int16: 'Int16', uint32: 'UInt32', int32: 'Int32', float32: 'Float32', float64: 'Float64',
};

export interface MakeRasterOptions {
  width: number;
  height: number;
  bands: number;
  type: keyof typeof GDAL_TYPE;
  creationOptions?: string[];
  epsg?: number;
  geoTransform?: number[];
  nodata?: number;
  /** Python expression that rewrites `a` (float64 array [bands, rows, cols]) before writing. */
  edit?: string;
}

/** Writes a GeoTIFF with GDAL holding patternValue() at every pixel. */
export function makeRaster(file: string, o: MakeRasterOptions): void {
  makeRasters([{ file, ...o }]);
}

/** Writes several pattern GeoTIFFs in one Python process (each start costs a fraction of a second). */
export function makeRasters(list: (MakeRasterOptions & { file: string })[]): void {
  const specs = list.map((o) => {
    const createOptions = [...(o.creationOptions ?? [])];
    if (o.type === 'int8') createOptions.push('PIXELTYPE=SIGNEDBYTE');
    return { f: o.file, width: o.width, height: o.height, bands: o.bands, type: o.type, gdalType: GDAL_TYPE[o.type], co: createOptions, gt: o.geoTransform, epsg: o.epsg, nodata: o.nodata, edit: o.edit ?? '' };
  });
  python(
    `
from osgeo import osr
for s in args['specs']:
    b, y, x = np.meshgrid(np.arange(s['bands']), np.arange(s['height']), np.arange(s['width']), indexing='ij')
    base = (b * 7919 + y * 131 + x * 17) % 251
    t = s['type']
    a = (base - 125 if t.startswith('int') else base) * {'uint8': 1, 'int8': 1, 'uint16': 257, 'int16': 257, 'uint32': 16777259, 'int32': 16777259, 'float32': 1.5, 'float64': 1.5}[t]
    a = a.astype('float64')
    exec(s['edit'])
    if t == 'int8': a = a.astype(np.int8).view(np.uint8)
    ds = gdal.GetDriverByName('GTiff').Create(s['f'], s['width'], s['height'], s['bands'], gdal.GetDataTypeByName(s['gdalType']), s['co'])
    if s.get('gt'): ds.SetGeoTransform(s['gt'])
    if s.get('epsg'):
        srs = osr.SpatialReference(); srs.ImportFromEPSG(s['epsg']); ds.SetProjection(srs.ExportToWkt())
    for i in range(s['bands']):
        band = ds.GetRasterBand(i + 1)
        if s.get('nodata') is not None: band.SetNoDataValue(s['nodata'])
        band.WriteArray(a[i])
    ds = None
print('null')`,
    { specs },
  );
}

export function writeJson(file: string, value: unknown): void {
  writeFileSync(file, JSON.stringify(value, null, 1));
}
