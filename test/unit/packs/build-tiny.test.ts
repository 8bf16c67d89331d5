import { describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, SHARED_DATA, sharedData } from '../../helpers/paths';
import { buildTinyPacks } from '../../../src-main/engine/packs/build-tiny';
import { fitLda, predict } from '../../../src-main/engine/packs/lda';

describe('tiny packs', () => {
  it('are rebuilt byte for byte from the shared data by build-tiny', async () => {
    sharedData('nc-landsat7');
    const out = await fs.mkdtemp(path.join(os.tmpdir(), 'fieldmoe-tiny-'));
    const built = await buildTinyPacks(out, SHARED_DATA);
    expect(built.map((b) => b.name)).toEqual(['tiny-landsat7', 'tiny-landsat7-context', 'tiny-s1s2-water']);
    for (const b of built) {
      for (const f of ['manifest.json', 'model.onnx']) {
        const fresh = await fs.readFile(path.join(out, b.name, f));
        const committed = await fs.readFile(path.join(REPO_ROOT, 'models', b.name, f));
        expect(Buffer.compare(fresh, committed), `${b.name}/${f}`).toBe(0);
      }
    }
  });
});

describe('LDA', () => {
  it('separates two Gaussian classes and matches the closed form in 1-D', () => {
    // 1-D, equal variance 1: the boundary is the midpoint of the means (uniform priors).
    const x = Float64Array.from([-1.2, -1, -0.8, 0.8, 1, 1.2]);
    const y = Uint8Array.from([0, 0, 0, 1, 1, 1]);
    const m = fitLda(x, y, 1, 2, { priors: 'uniform', ridge: 0 });
    const variance = (0.04 * 4) / 4; // pooled, n - K = 4
    expect(m.weights[1] - m.weights[0]).toBeCloseTo(2 / variance, 9);
    expect(m.bias[0] - m.bias[1]).toBeCloseTo(0, 9);
    expect(predict(m, Float64Array.from([0.1]), 0)).toBe(1);
    expect(predict(m, Float64Array.from([-0.1]), 0)).toBe(0);
  });
});
