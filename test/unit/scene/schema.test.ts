import { describe, expect, it } from 'vitest';
import { anyOf, arrayOf, byKey, num, object, oneOf, str, validate } from '../../../src-main/engine/scene/schema';

describe('schema checks', () => {
  const sensor = object({ id: str(), n: num({ min: 0 }) }, { kind: oneOf(['a', 'b']) });

  it('reports field paths', () => {
    expect(validate({ id: '', n: -1, kind: 'c' }, sensor)).toEqual([
      'id: expected a non-empty string, got ""',
      'n: must be >= 0, got -1',
      'kind: expected one of a, b, got "c"',
    ]);
    expect(validate([{ id: 'x', n: 1 }, { n: 'x' }], arrayOf(sensor))).toEqual(['[1].id: missing', '[1].n: expected a number, got "x"']);
    expect(validate({ id: 'x', n: 1, extra: true }, sensor)).toEqual([]);
  });

  it('anyOf reports the alternative that matches the value best', () => {
    const either = anyOf(arrayOf(sensor), object({ sensors: arrayOf(sensor) }));
    expect(validate({ sensors: [{ id: 'x' }] }, either)).toEqual(['sensors[0].n: missing']);
    expect(validate(3, either)).toEqual(['top level: expected an array, got 3']);
  });

  it('byKey dispatches on a discriminator', () => {
    const geom = byKey('type', { P: object({ type: str(), c: num() }) });
    expect(validate({ type: 'P', c: 1 }, geom)).toEqual([]);
    expect(validate({ type: 'Q' }, geom)).toEqual(['type: expected one of P, got "Q"']);
  });
});
