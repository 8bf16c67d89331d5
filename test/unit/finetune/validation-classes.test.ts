/**
 * Fine-tuning validates on the classes training can learn (fit.ts ofTrainedClasses): a class the
 * spatial split left wholly on the validation side is not scored.
 */
import { describe, expect, it } from 'vitest';
import { ofTrainedClasses } from '../../../src-main/engine/finetune/fit';
import type { LabelSet } from '../../../src-main/engine/labels/types';

describe('validation pixels of trained classes', () => {
  it('keeps the pixels whose class has a training pixel, in order', () => {
    const labels = { classIndex: Uint16Array.of(0, 1, 2, 1, 0, 2, 2) } as unknown as LabelSet;
    const train = Uint32Array.of(1, 5); // classes 1 and 2
    expect(Array.from(ofTrainedClasses(Uint32Array.of(0, 2, 3, 4, 6), train, labels))).toEqual([2, 3, 6]);
    expect(Array.from(ofTrainedClasses(Uint32Array.of(0, 4), train, labels))).toEqual([]);
  });
});
