import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import { artifactDir, sharedData } from '../../helpers/paths';
import { MemorySink, classify, runPipeline, sessionEngine } from '../../../src-main/engine/classify';
import { CancelledError } from '../../../src-main/engine/util/errors';
import { readAll } from '../../helpers/raster';
import { openScene } from '../../../src-main/engine/scene';
import { resolvePack } from '../../../src-main/engine/packs/registry';
import { openSession } from '../../../src-main/engine/runtime/session';

describe('classify(request)', () => {
  it('says when a sensor covers part of the scene, and when it covers none of it', async () => {
    const dir = artifactDir('classify-coverage');
    await fs.mkdir(dir, { recursive: true });
    const data = sharedData('sen1floods11-spain');
    const sensors = JSON.parse(await fs.readFile(path.join(data, 'sensors.json'), 'utf8')) as { id: string; file: string }[];
    // S1 as its left half, or moved a degree east (no overlap with S2)
    const scene = async (name: string, args: string[]) => {
      const s1 = path.join(dir, `${name}-s1.tif`);
      execFileSync('gdal_translate', ['-q', ...args, path.join(data, 'S1Hand.tif'), s1]);
      const spec = sensors.map((s) => ({ ...s, file: s.id === 's1' ? s1 : path.join(data, s.file) }));
      const file = path.join(dir, `${name}.json`);
      await fs.writeFile(file, JSON.stringify(spec));
      return file;
    };
    const half = await classify({ scene: await scene('half', ['-srcwin', '0', '0', '256', '512']), model: 'default-mamol', out: path.join(dir, 'half.tif') });
    expect(half.degraded).toBe(true);
    expect(half.degradedReasons.join(' ')).toMatch(/sensor s1 had no valid data in \d+ pixels classified from the other sensors/);
    const ulx = -0.781893623297631 + 1;
    const away = await scene('away', ['-a_ullr', String(ulx), '38.128812571396267', String(ulx + 512 * 0.000089831528412), String(38.128812571396267 - 512 * 0.000089831528412)]);
    await expect(classify({ scene: away, model: 'default-mamol', out: path.join(dir, 'away.tif') })).rejects.toThrow(/away-s1\.tif: sensor s1 has no data on the scene's grid: the file does not overlap the reference sensor/);
  }, 300_000);

  it('resolves the pack by name, opens the scene and writes the class map', async () => {
    const dir = artifactDir('classify-api');
    await fs.mkdir(dir, { recursive: true });
    const out = path.join(dir, 'flood.tif');
    const report = await classify({ scene: sharedData('sen1floods11-spain'), model: 'tiny-s1s2-water', out, missing: ['s2'], tile: 128, overlap: 16 });
    expect(report.inputs.map((i) => [i.sensor, i.available])).toEqual([['s2', false], ['s1', true]]);
    expect(report.tiles).toBe(25);
    expect(report.model).toBe('tiny-s1s2-water 0.1.0');
    expect(report.classCounts[1] + report.classCounts[2] + report.nodataPixels).toBe(512 * 512);
    expect(existsSync(out)).toBe(true);
  });

  it('writes exactly the rows the pipeline produced, across rows of tiles written while the next fill', async () => {
    // 443 rows: two full 256-row rows of output tiles would need 512; the last one is 187 rows.
    const dir = artifactDir('classify-api-rows');
    await fs.mkdir(dir, { recursive: true });
    const request = { scene: sharedData('nc-landsat7'), model: 'tiny-landsat7', tile: 64, overlap: 8, threads: 1 };
    const report = await classify({ ...request, out: path.join(dir, 'c.tif'), confidence: path.join(dir, 'p.tif') });
    const scene = await openScene(request.scene);
    const pack = await resolvePack(request.model);
    const opened = await openSession(pack.modelPath, { threads: 1 });
    const sink = new MemorySink(scene.info.width, scene.info.height);
    try {
      await runPipeline(scene, pack.manifest, sessionEngine(opened.session, opened.provider), sink, { tile: 64, overlap: 8 });
    } finally {
      await opened.session.release();
      await scene.close();
    }
    expect(report.height).toBe(443);
    expect(new Set(sink.classes).size).toBeGreaterThan(3);
    expect(await readAll(path.join(dir, 'c.tif'))).toEqual(Float32Array.from(sink.classes));
    expect(Buffer.from((await readAll(path.join(dir, 'p.tif'))).buffer).equals(Buffer.from(sink.confidence.buffer))).toBe(true);
  });

  it('leaves nothing behind when cancelled', async () => {
    const dir = artifactDir('classify-api-cancel');
    await fs.rm(dir, { recursive: true, force: true });
    await fs.mkdir(dir, { recursive: true });
    const ac = new AbortController();
    const run = classify(
      { scene: sharedData('nc-landsat7'), model: 'tiny-landsat7', out: path.join(dir, 'c.tif'), confidence: path.join(dir, 'p.tif'), tile: 32, overlap: 8, batch: 1 },
      { signal: ac.signal, onProgress: () => ac.abort() },
    );
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(readdirSync(dir)).toEqual([]);
  });
});
