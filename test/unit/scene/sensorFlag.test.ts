import { describe, expect, it } from 'vitest';
import { parseSensorFlag } from '../../../src-main/engine/scene/sensorFlag';
import { FieldMoeError } from '../../../src-main/engine/util/errors';

describe('parseSensorFlag', () => {
  it('parses id=path and id=path:kind', () => {
    expect(parseSensorFlag('s2=data/S2Hand.tif')).toEqual({ id: 's2', file: 'data/S2Hand.tif' });
    expect(parseSensorFlag('s1=data/S1Hand.tif:sar')).toEqual({ id: 's1', file: 'data/S1Hand.tif', kind: 'sar' });
  });

  it('keeps Windows drive letters and colons that are not kinds in the path', () => {
    expect(parseSensorFlag('dem=C:\\scenes\\dem.tif')).toEqual({ id: 'dem', file: 'C:\\scenes\\dem.tif' });
    expect(parseSensorFlag('dem=C:\\scenes\\dem.tif:dem')).toEqual({ id: 'dem', file: 'C:\\scenes\\dem.tif', kind: 'dem' });
    expect(parseSensorFlag('x=/data/run:2/a.tif')).toEqual({ id: 'x', file: '/data/run:2/a.tif' });
  });

  it('rejects malformed values with a one-line error naming the flag', () => {
    for (const [value, problem] of [
      ['s2', /expected id=path\[:kind\]/],
      ['=a.tif', /expected id=path/],
      ['s2=', /expected id=path/],
      ['s 2=a.tif', /may use only letters/],
      ['s2=a.tif:thermal', /unknown sensor kind "thermal"/],
    ] as const) {
      let err: unknown;
      try {
        parseSensorFlag(value);
      } catch (e) {
        err = e;
      }
      expect(err, value).toBeInstanceOf(FieldMoeError);
      expect((err as Error).message).toMatch(/^--sensor: /);
      expect((err as Error).message).toMatch(problem);
    }
  });
});
