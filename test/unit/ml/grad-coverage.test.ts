import { describe, expect, it } from 'vitest';
import { registeredOps } from '../../../src-main/engine/ml/index';
import { differentiatedOpTypes } from '../../helpers/gradcheck';
import * as groups from './grad-cases';

describe('gradient-check coverage', () => {
  it('every registered op with a gradient rule is exercised by a gradient check', () => {
    const tested = new Set<string>();
    for (const cases of Object.values(groups))
      if (Array.isArray(cases)) for (const c of cases) for (const t of differentiatedOpTypes(c)) tested.add(t);
    const withRule = registeredOps().filter((op) => op.grad).map((op) => op.type);
    expect(withRule.length).toBeGreaterThan(30);
    expect(withRule.filter((t) => !tested.has(t))).toEqual([]);
  });
});
