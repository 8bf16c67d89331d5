import { describe, expect, it } from 'vitest';
import { BlockCache } from '../../../src-main/engine/raster/blockCache';

const block = (n: number) => new Uint8Array(n);

describe('BlockCache', () => {
  it('shares one load between concurrent requests and reuses it later', async () => {
    const cache = new BlockCache<Uint8Array>(100);
    let loads = 0;
    const load = async () => {
      loads++;
      return block(10);
    };
    const [a, b] = await Promise.all([cache.get('k', load), cache.get('k', load)]);
    expect(a).toBe(b);
    expect(await cache.get('k', load)).toBe(a);
    expect(loads).toBe(1);
  });

  it('evicts the least recently used entries beyond its byte budget', async () => {
    const cache = new BlockCache<Uint8Array>(25);
    const loads: string[] = [];
    const get = (k: string) => cache.get(k, async () => (loads.push(k), block(10)));
    await get('a');
    await get('b');
    await get('a'); // a is now more recent than b
    await get('c'); // 30 bytes: b goes
    await get('a');
    await get('b');
    expect(loads).toEqual(['a', 'b', 'c', 'b']);
  });

  it('does not keep failed loads, and a zero budget keeps nothing', async () => {
    const cache = new BlockCache<Uint8Array>(100);
    await expect(cache.get('k', async () => Promise.reject(new Error('bad tile')))).rejects.toThrow('bad tile');
    expect(await cache.get('k', async () => block(1))).toHaveLength(1);
    const none = new BlockCache<Uint8Array>(0);
    let loads = 0;
    await none.get('k', async () => (loads++, block(1)));
    await none.get('k', async () => (loads++, block(1)));
    expect(loads).toBe(2);
  });
});
