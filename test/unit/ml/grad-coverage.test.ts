import { describe, expect, it } from 'vitest';
import { registeredOps } from '../../../src-main/engine/ml/index';
import { differentiatedOpTypes, type GradCase } from '../../helpers/gradcheck';
import * as groups from './grad-cases';

const allGroups = Object.entries(groups).filter((e): e is [string, GradCase[]] => Array.isArray(e[1]));

/** Registered op types with a gradient rule that no case in `cases` differentiates through. */
function untested(cases: GradCase[]): string[] {
  const tested = new Set<string>();
  for (const c of cases) for (const t of differentiatedOpTypes(c)) tested.add(t);
  return registeredOps()
    .filter((op) => op.grad && !tested.has(op.type))
    .map((op) => op.type);
}

describe('gradient-check coverage', () => {
  it('every registered op with a gradient rule is exercised by a gradient check', () => {
    expect(registeredOps().filter((op) => op.grad).length).toBeGreaterThan(40);
    expect(untested(allGroups.flatMap(([, cases]) => cases))).toEqual([]);
  });

  it('reports the ops whose cases are missing (the check can fail)', () => {
    const withoutConv = allGroups.filter(([name]) => name !== 'convCases').flatMap(([, cases]) => cases);
    expect(untested(withoutConv)).toEqual(['Conv']);
  });
});
