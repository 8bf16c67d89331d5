/**
 * Fine-tuning's training tiles mark a sensor present or missing by the classify pipeline's rule
 * (fillInput): the scene's only sensor is present in every tile; with several, a sensor is
 * present where it covers at least half of the tile's data pixels (where any sensor is valid),
 * not half of all its pixels. A LiDAR scene mostly nodata trained with its only sensor missing
 * in most tiles, and was then classified with it present.
 */
import { describe, expect, it } from 'vitest';
import { anyValidMask, fillInput, type SceneSource } from '../../../src-main/engine/finetune/samples';
import type { InputBinding } from '../../../src-main/engine/packs/bandmap';
import type { SensorBlock } from '../../../src-main/engine/scene/types';

const T = 4;
const [W, H] = [8, 4];

/** A one-band block valid where `valid(x, y)`, value x + 10 y. */
function block(sensor: string, valid: (x: number, y: number) => boolean): SensorBlock {
  const data = Float32Array.from({ length: W * H }, (_, p) => (p % W) + 10 * Math.floor(p / W));
  return { sensor, bands: 1, width: W, height: H, data, valid: Uint8Array.from({ length: W * H }, (_, p) => (valid(p % W, Math.floor(p / W)) ? 1 : 0)) };
}

function source(blocks: SensorBlock[]): SceneSource {
  const bindings = blocks.map((b, index) => ({ input: { name: b.sensor }, index, bandIndices: [0], channels: 1, available: true }) as unknown as InputBinding);
  return { name: 't', labels: {} as SceneSource['labels'], bindings, blocks, classMap: new Int32Array(), normalization: blocks.map(() => ({ mean: 0, std: 1 })), anyValid: anyValidMask(blocks) };
}

const present = (src: SceneSource, bi: number, x0: number) => fillInput(src, bi, { source: 0, index: 0, x0, y0: 0 }, T, W, H, new Float32Array(T * T), 0);

describe('sensor presence in training tiles', () => {
  it("counts a scene's only sensor present in a tile it covers one pixel of, and writes that pixel", () => {
    const src = source([block('dsm', (x, y) => x === 1 && y === 2)]);
    const dst = new Float32Array(T * T);
    expect(fillInput(src, 0, { source: 0, index: 0, x0: 0, y0: 0 }, T, W, H, dst, 0)).toBe(true);
    expect(Array.from(dst).filter((v) => v !== 0)).toEqual([21]);
    expect(src.anyValid).toBeUndefined();
  });

  it('counts a sensor by the data pixels of the tile when there are several', () => {
    // left tile (x 0..3): s2 in columns 0-1, s1 nowhere; right tile (x 4..7): s2 in columns 4-5,
    // s1 in column 4: half of the data pixels, though a quarter of the tile's
    const s2 = block('s2', (x) => x <= 1 || x === 4 || x === 5);
    const s1 = block('s1', (x) => x === 4);
    const src = source([s2, s1]);
    expect(present(src, 0, 0)).toBe(true);
    expect(present(src, 1, 0)).toBe(false);
    expect(present(src, 0, 4)).toBe(true);
    expect(present(src, 1, 4)).toBe(true);
    // right tile with s2 in column 5 alone: s1 still half of the data; with s2 in 4-6, a third
    expect(present(source([block('s2', (x) => x === 5), s1]), 1, 4)).toBe(true);
    expect(present(source([block('s2', (x) => x >= 4 && x <= 6), s1]), 1, 4)).toBe(false);
    // a tile past the scene's edge with no data: present, as the pipeline has it
    expect(present(src, 0, 8)).toBe(true);
  });
});
