import { describe, expect, it } from 'vitest';
import { SLIGHT_AGREEMENT_KAPPA, validationWarnings } from '../../../src-main/engine/finetune/finetune';

describe('validationWarnings', () => {
  it('flags a validation at most slightly beyond chance, and a pack nothing validated, and nothing else', () => {
    expect(validationWarnings({ kappa: 0.65 })).toEqual([]);
    expect(validationWarnings({ kappa: SLIGHT_AGREEMENT_KAPPA })).toEqual([]);
    const [chance] = validationWarnings({ kappa: 0.013 });
    expect(chance).toMatch(/^validation kappa 0.013 is at most slight agreement beyond chance \(below 0.2\)/);
    expect(validationWarnings({ kappa: -0.4 })[0]).toMatch(/kappa -0.400/);
    expect(validationWarnings(undefined)[0]).toMatch(/no labelled pixel could be held back for validation/);
  });
});
