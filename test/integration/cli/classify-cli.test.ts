import { describe, expect, it, beforeAll } from 'vitest';
import { promises as fs, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { artifactDir, sharedData, REPO_ROOT } from '../../helpers/paths';
import { gdalinfo, runCli, runCliAndInterrupt } from './cliHelpers';
import { readAll } from '../../helpers/raster';
import { loadPack } from '../../../src-main/engine/packs';

const out = artifactDir('cli-classify');
const model = (name: string) => path.join(REPO_ROOT, 'models', name);

/** Agreement of a class map with the labelled (non-zero) pixels that the map did not leave as nodata. */
async function agreement(classMap: string, labels: string): Promise<number> {
  const a = await readAll(classMap);
  const b = await readAll(labels);
  let hit = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (b[i] === 0 || a[i] === 0) continue;
    n++;
    if (a[i] === b[i]) hit++;
  }
  return hit / n;
}

function expectSameGrid(outFile: string, inputFile: string): void {
  const o = gdalinfo(outFile);
  const i = gdalinfo(inputFile);
  expect(o.size).toEqual(i.size);
  expect(o.geoTransform).toEqual(i.geoTransform);
  expect(o.coordinateSystem?.wkt).toBe(i.coordinateSystem?.wkt);
  expect(o.coordinateSystem?.wkt.length).toBeGreaterThan(50);
}

beforeAll(async () => {
  await fs.rm(out, { recursive: true, force: true });
  await fs.mkdir(out, { recursive: true });
});

describe('fieldmoe classify on nc-landsat7', () => {
  it('writes a georeferenced class map with colour table and nodata, and a confidence map', async () => {
    const dir = sharedData('nc-landsat7');
    const classes = path.join(out, 'nc.tif');
    const conf = path.join(out, 'nc-conf.tif');
    const r = await runCli(['classify', '--model', model('tiny-landsat7'), '--scene', dir, '--out', classes, '--confidence', conf, '--tile', '128', '--overlap', '16', '--ep', 'cuda,cpu', '--threads', '1']);
    // CUDA is not available on this machine: the run falls back to CPU and says so.
    expect(r.stderr).toMatch(/execution provider cuda unavailable/);
    expect(r.stderr).toMatch(/execution provider: cpu/);
    expect(r.stderr).toMatch(/classify\s+100%/);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.provider).toBe('cpu');
    expect(report.fallbacks.map((f: { provider: string }) => f.provider)).toEqual(['cuda']);
    expect(report.tiles).toBe(20);
    // pixels at the nodata value (0) in some bands but not all are reported, not masked
    const landsat = await readAll(path.join(dir, 'landsat7_2000.tif'));
    const n = landsat.length / 6;
    let partial = 0;
    for (let p = 0; p < n; p++) {
      let zeros = 0;
      for (let b = 0; b < 6; b++) if (landsat[b * n + p] === 0) zeros++;
      if (zeros > 0 && zeros < 6) partial++;
    }
    expect(partial).toBeGreaterThan(0);
    expect(report.partialNodata).toEqual([expect.stringMatching(new RegExp(`^sensor l7: ${partial} pixels \\(.*% of its valid ones\\) hold the nodata value 0 in some bands but not all \\(B7 ${partial}\\)`))]);
    expect(r.stderr).toContain(report.partialNodata[0]);

    const input = path.join(dir, 'landsat7_2000.tif');
    expectSameGrid(classes, input);
    expectSameGrid(conf, input);
    const info = gdalinfo(classes);
    expect(info.bands[0].type).toBe('Byte');
    expect(info.bands[0].noDataValue).toBe(0);
    expect(info.bands[0].colorInterpretation).toBe('Palette');
    const pack = await loadPack(model('tiny-landsat7'));
    for (const c of pack.manifest.classes) {
      const n = parseInt(c.color.slice(1), 16);
      expect(info.bands[0].colorTable!.entries[c.id].slice(0, 3)).toEqual([(n >> 16) & 255, (n >> 8) & 255, n & 255]);
    }
    expect(info.metadata?.['']?.FIELDMOE_PROVIDER).toBe('cpu');
    const confInfo = gdalinfo(conf);
    expect(confInfo.bands[0].type).toBe('Float32');
    expect(confInfo.bands[0].noDataValue).toBe('NaN');

    // Pixel values read back: the map agrees with the training labels exactly as well as the
    // pack's own fit says (the pipeline computes what the fitted model computes).
    const acc = await agreement(classes, path.join(dir, 'labels.tif'));
    expect(acc).toBeCloseTo(pack.manifest.metrics['train.overall_accuracy'], 2);
    const values = await readAll(classes);
    const confValues = await readAll(conf);
    const nodata = values.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
    expect(nodata).toBe(report.nodataPixels);
    for (let i = 0; i < values.length; i += 97) {
      if (values[i] === 0) expect(Number.isNaN(confValues[i])).toBe(true);
      else expect(confValues[i]).toBeGreaterThan(1 / 7);
    }
  });

  it('prints scene info as JSON', async () => {
    const r = await runCli(['info', sharedData('nc-landsat7')]);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.width).toBe(489);
    expect(info.height).toBe(443);
    expect(info.crs.epsg).toBe(3358);
    expect(info.sensors[0].bands.map((b: { wavelengthNm: number }) => b.wavelengthNm)).toEqual([485, 560, 660, 835, 1650, 2220]);
    expect(info.sensors[0].nodata).toBe(0);
    expect(info.stats.sensors[0].bands).toHaveLength(6);
  });
});

describe('fieldmoe classify on sen1floods11-spain (S2 + S1)', () => {
  const dir = () => sharedData('sen1floods11-spain');

  it('classifies with both sensors given as --sensor flags', async () => {
    const classes = path.join(out, 'flood.tif');
    const r = await runCli([
      'classify', '--model', 'tiny-s1s2-water', '--out', classes,
      '--sensor', `s2=${path.join(dir(), 'S2Hand.tif')}:multispectral`, '--sensor', `s1=${path.join(dir(), 'S1Hand.tif')}:sar`,
    ]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.inputs.map((i: { sensor: string; available: boolean }) => [i.sensor, i.available])).toEqual([['s2', true], ['s1', true]]);
    expectSameGrid(classes, path.join(dir(), 'S2Hand.tif'));
    const info = gdalinfo(classes);
    expect(info.bands[0].noDataValue).toBe(0);
    expect(info.bands[0].colorTable!.entries[2].slice(0, 3)).toEqual([8, 81, 156]);
    expect(info.metadata?.['']?.FIELDMOE_AVAILABILITY).toBe('s2=1,s1=1');
    const pack = await loadPack(model('tiny-s1s2-water'));
    // Labelled pixels where S1 is NaN are classified by the S2 expert's features zeroed: allow 1 %.
    expect(await agreement(classes, path.join(dir(), 'labels.tif'))).toBeGreaterThan(pack.manifest.metrics['train.overall_accuracy'] - 0.01);
  });

  it('runs with --missing s1 and reports the sensor as unavailable', async () => {
    const classes = path.join(out, 'flood-no-s1.tif');
    const r = await runCli(['classify', '--model', model('tiny-s1s2-water'), '--scene', dir(), '--out', classes, '--missing', 's1']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.inputs[1]).toMatchObject({ input: 's1', sensor: 's1', available: false });
    expect(report.degraded).toBe(false);
    const info = gdalinfo(classes);
    expect(info.metadata?.['']?.FIELDMOE_AVAILABILITY).toBe('s2=1,s1=0');
    expect(info.metadata?.['']?.FIELDMOE_DEGRADED).toBe('no');
    expectSameGrid(classes, path.join(dir(), 'S2Hand.tif'));
    const pack = await loadPack(model('tiny-s1s2-water'));
    expect(await agreement(classes, path.join(dir(), 'labels.tif'))).toBeCloseTo(pack.manifest.metrics['train.overall_accuracy.s2_only'], 2);
  });
});

describe('fieldmoe classify on bad input', () => {
  /** One line on stderr, no stack trace, exit code 1. */
  function expectOneLineError(r: { code: number; stderr: string; stdout: string }, pattern: RegExp): void {
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !/^(execution provider|classify\s)/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }

  it('names what a pack needs when the bands do not fit, and the packs that take the scene', async () => {
    const s1 = path.join(sharedData('sen1floods11-spain'), 'S1Hand.tif');
    const r = await runCli(['classify', '--model', model('tiny-landsat7'), '--sensor', `s1=${s1}:sar`, '--out', path.join(out, 'x.tif')]);
    expectOneLineError(r, /needs a multispectral sensor with bands near 485 nm, 560 nm, 660 nm, 835 nm, 1650 nm and 2220 nm; the scene has s1 \(sar\) \(packs that take this scene: default-mamol(, [\w-]+)*\)$/);
  });

  it('names the bands a sensor lacks when its wavelengths do not fit', async () => {
    const r = await runCli(['classify', '--model', model('tiny-landsat7'), '--scene', sharedData('nc-landsat7'), '--out', path.join(out, 'x.tif'), '--wavelengths', 'l7=400,410,420,430,440,450']);
    expectOneLineError(r, /scene sensor l7 \(multispectral\) lacks 560 nm \(±40\), 660 nm \(±40\), 835 nm \(±40\), 1650 nm \(±40\), 2220 nm \(±40\); it has 400, 410, 420, 430, 440, 450 nm/);
  });

  it('rejects a band count that does not fit', async () => {
    const r = await runCli(['classify', '--model', model('tiny-landsat7'), '--scene', sharedData('nc-landsat7'), '--out', path.join(out, 'x.tif'), '--wavelengths', 'l7=485,560']);
    expectOneLineError(r, /^error: --wavelengths: gives 2 wavelengths for sensor l7, which has 6 bands$/);
  });

  it('rejects a NaN-filled band, naming the file and band, and leaves no output', async () => {
    const tif = path.join(out, 'nan-band.tif');
    execFileSync('/usr/bin/python3', ['-c', `
from osgeo import gdal
import numpy as np
src = gdal.Open('${path.join(sharedData('nc-landsat7'), 'landsat7_2000.tif')}')
a = src.ReadAsArray().astype('float32')
a[2, :, :] = np.nan
d = gdal.GetDriverByName('GTiff').Create('${tif}', src.RasterXSize, src.RasterYSize, 6, gdal.GDT_Float32, ['TILED=YES', 'COMPRESS=DEFLATE'])
d.SetGeoTransform(src.GetGeoTransform()); d.SetProjection(src.GetProjection())
for b in range(6):
    d.GetRasterBand(b + 1).WriteArray(a[b]); d.GetRasterBand(b + 1).SetDescription(src.GetRasterBand(b + 1).GetDescription())
d = None
`]);
    const target = path.join(out, 'nan-out.tif');
    const r = await runCli(['classify', '--model', model('tiny-landsat7'), '--sensor', `l7=${tif}:multispectral`, '--out', target]);
    expectOneLineError(r, new RegExp(`${tif.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: band 3 \\(B3 660nm\\) holds no finite value \\(all NaN\\)`));
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(out).filter((f) => f.includes('nan-out'))).toEqual([]);
  });

  it('rejects an unknown sensor in --missing', async () => {
    const r = await runCli(['classify', '--model', model('tiny-s1s2-water'), '--scene', sharedData('sen1floods11-spain'), '--out', path.join(out, 'x.tif'), '--missing', 's3']);
    expectOneLineError(r, /^error: --missing: unknown sensor "s3"; the scene has s2, s1$/);
  });

  it('refuses an output path that is a folder before classifying, leaving no other output', async () => {
    const folder = path.join(out, 'a-folder');
    await fs.mkdir(folder, { recursive: true });
    const r = await runCli(['classify', '--model', model('tiny-landsat7'), '--scene', sharedData('nc-landsat7'), '--out', path.join(out, 'first.tif'), '--confidence', folder]);
    expectOneLineError(r, /a-folder: is a folder; give a file name for the output$/);
    expect(existsSync(path.join(out, 'first.tif'))).toBe(false);
    const e = await runCli(['eval', '--model', model('tiny-landsat7'), '--scene', sharedData('nc-landsat7'), '--labels', sharedData('nc-landsat7/labels.tif'), '--json', folder]);
    expectOneLineError(e, /a-folder: is a folder; give a file name for the output$/);
  });

  it('eval warns, on stderr and in the JSON, when labels without classes.json match no class of the pack', async () => {
    const dir = path.join(out, 'unnamed-labels');
    await fs.mkdir(dir, { recursive: true });
    await fs.copyFile(sharedData('nc-landsat7/labels.tif'), path.join(dir, 'labels.tif'));
    const r = await runCli(['eval', '--model', model('tiny-landsat7'), '--scene', sharedData('nc-landsat7'), '--labels', path.join(dir, 'labels.tif')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: no classes.json names the label values: classes are named after them \(class 1, class 2, class 3, \.\.\.\)/);
    expect(r.stderr).toMatch(/warning: label classes class 1, .* match no class of pack tiny-landsat7 by name \(its classes: .*\): their pixels count as errors/);
    const report = JSON.parse(r.stdout);
    expect(report.warnings).toHaveLength(2);
    expect(report.oa).toBe(0);
  });

  it('rejects a bad --tile', async () => {
    const bad = await runCli(['classify', '--model', model('tiny-landsat7'), '--scene', sharedData('nc-landsat7'), '--out', path.join(out, 'x.tif'), '--tile', 'big']);
    expectOneLineError(bad, /^error: --tile: "big" must be an integer >= 1$/);
    const fixed = await runCli(['classify', '--model', model('tiny-landsat7-context'), '--scene', sharedData('nc-landsat7'), '--out', path.join(out, 'x.tif'), '--tile', '256']);
    expectOneLineError(fixed, /^error: --tile: model pack tiny-landsat7-context runs on 128-pixel tiles only, got 256$/);
    expect(existsSync(path.join(out, 'x.tif'))).toBe(false);
  });

  it('rejects an unknown flag and an unknown command', async () => {
    expectOneLineError(await runCli(['classify', '--colour', 'x']), /^error: --colour: Unknown option '--colour'/);
    expectOneLineError(await runCli(['paint']), /^error: fieldmoe paint: unknown command; commands: (\w+, )*info, classify/);
  });
});

describe('cancelling fieldmoe classify', () => {
  it('on SIGINT stops, exits 130 and leaves neither the outputs nor temp files', async () => {
    const dir = path.join(out, 'cancel');
    await fs.mkdir(dir, { recursive: true });
    const big = path.join(dir, 'big.tif');
    // A 3000 x 3000 scene classified in 64-pixel tiles takes many seconds: plenty of time to interrupt.
    execFileSync('gdal_translate', ['-q', '-outsize', '3000', '3000', '-co', 'TILED=YES', '-co', 'COMPRESS=DEFLATE', path.join(sharedData('nc-landsat7'), 'landsat7_2000.tif'), big]);
    const r = await runCliAndInterrupt(
      ['classify', '--model', model('tiny-landsat7'), '--scene', big, '--out', path.join(dir, 'c.tif'), '--confidence', path.join(dir, 'p.tif'), '--tile', '64', '--overlap', '8', '--batch', '1'],
      /classify\s+\d+%/,
    );
    expect(r.interrupted).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/cancelled; no output written/);
    expect(readdirSync(dir)).toEqual(['big.tif']);
  });
});
