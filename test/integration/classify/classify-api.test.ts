import { describe, expect, it } from 'vitest';
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import { artifactDir, sharedData } from '../../helpers/paths';
import { classify } from '../../../src-main/engine/classify';
import { CancelledError } from '../../../src-main/engine/util/errors';

describe('classify(request)', () => {
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
