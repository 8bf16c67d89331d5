import { describe, expect, it } from 'vitest';
import { gradCheck, type GradCase } from '../../helpers/gradcheck';

/** One test per case: central differences and the adjoint identity, both below 1e-6. */
export function expectGradCases(title: string, cases: readonly GradCase[]): void {
  describe(title, () => {
    for (const c of cases)
      it(c.name, async () => {
        const r = await gradCheck(c.inputs, c.f, { h: c.h });
        expect(r.maxRelError).toBeLessThan(1e-6);
        expect(r.adjointRelError).toBeLessThan(1e-6);
      });
  });
}
