import { describe, expect, it } from 'vitest';
import { headFor } from '../../../src-main/engine/finetune/finetune';
import { syntheticSet } from '../labels/helpers';

const pack = [
  { id: 10, name: 'c1', color: '#000000' },
  { id: 20, name: 'c2', color: '#000000' },
  { id: 30, name: 'c3', color: '#000000' },
];

describe('headFor', () => {
  it("keeps the pack's classes when every labelled class is one, whatever classes without labels the list declares", () => {
    // classes c1..c4 declared, c1 and c3 labelled; c4 is not a pack class but has no pixel
    const labels = syntheticSet(10, 10, 4, (x) => (x < 3 ? 0 : x > 6 ? 2 : -1));
    const h = headFor(labels, pack, 'auto', 'labels.tif');
    expect(h.head).toBe('keep');
    expect(h.classes.map((c) => c.name)).toEqual(['c1', 'c2', 'c3']);
    expect(Array.from(h.classMap)).toEqual([0, -1, 2, -1]);
    expect(h.notes).toEqual(['classes c2, c4 of the labels\' class list have no labelled pixel and were left out']);
  });

  it('gives a new head of the labelled classes alone, and refuses labels of one class or none', () => {
    const labels = syntheticSet(10, 10, 4, (x) => (x < 3 ? 0 : x > 6 ? 3 : -1));
    const h = headFor(labels, pack, 'auto', 'labels.tif');
    expect(h.head).toBe('new');
    expect(h.classes.map((c) => c.name)).toEqual(['c1', 'c4']);
    expect(Array.from(h.classMap)).toEqual([0, -1, -1, 1]);
    expect(() => headFor(labels, pack, 'keep', 'labels.tif')).toThrow(/^labels.tif: has classes the pack lacks \(c4\)/);
    const one = syntheticSet(10, 10, 2, (x) => (x < 3 ? 1 : -1));
    expect(() => headFor(one, pack, 'auto', 'one.geojson')).toThrow(/^one.geojson: holds labelled pixels of one class only \(c2\); fine-tuning needs at least two classes$/);
    const none = syntheticSet(10, 10, 2, () => -1);
    expect(() => headFor(none, pack, 'auto', 'none.tif')).toThrow(/^none.tif: holds no labelled pixel$/);
  });
});
