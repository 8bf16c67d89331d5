import { describe, expect, it } from 'vitest';
import { scoreClassMap } from '../../../src-main/engine/finetune/evaluate';
import type { ModelPack } from '../../../src-main/engine/packs/pack';
import { syntheticSet } from '../labels/helpers';

describe('scoreClassMap', () => {
  it("names each column by the label class's id and the pack class's, so a pack class the labels lack never takes a label id", () => {
    // labels: id 1 "c1" (left half), id 2 "c2" (right half); pack: id 1 "developed", id 2 "c2"
    const labels = syntheticSet(4, 1, 2, (x) => (x < 2 ? 0 : 1));
    const pack = { manifest: { classes: [{ id: 1, name: 'developed' }, { id: 2, name: 'c2' }] } } as unknown as ModelPack;
    // predicted: developed, c2, c2, c2 (pack ids)
    const m = scoreClassMap(Uint8Array.from([1, 2, 2, 2]), pack, labels);
    expect(m.per_class.map((c) => [c.id, c.pack_id, c.name])).toEqual([
      [1, undefined, 'c1'],
      [2, 2, 'c2'],
      [null, 1, 'developed (not in labels)'],
    ]);
    expect(m.confusion).toEqual([
      [0, 1, 1],
      [0, 2, 0],
      [0, 0, 0],
    ]);
    expect(m.oa).toBe(0.5);
  });
});
