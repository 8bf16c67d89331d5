import { describe, expect, it } from 'vitest';
import { fakeScene } from './fake-scene';
import { decodePng } from '../../helpers/png';
import { encodePng } from '../../../src-main/engine/render/png';
import { TileRenderer, overviewStep } from '../../../src-main/engine/render/tiles';
import { sampleSensor, READ_BUDGET_VALUES } from '../../../src-main/engine/render/sampler';
import { stretchRange, percentiles } from '../../../src-main/engine/render/stretch';
import { classLut, rampColour } from '../../../src-main/engine/render/palette';
import { tileExists, tileGridFor, tileWindow, pixelToMapLngLat, mapLngLatToPixel, pixelToCrs, crsToPixel } from '../../../src-main/ipc/tile-grid';
import type { LayerStyle } from '../../../src-main/engine/render/style';

const identity: LayerStyle = { kind: 'rgb', bands: [0, 1, 2], ranges: [{ low: 0, high: 255 }, { low: 0, high: 255 }, { low: 0, high: 255 }] };

describe('png encoder', () => {
  it('round-trips RGBA pixels', () => {
    const rgba = Uint8Array.from({ length: 3 * 2 * 4 }, (_, i) => (i * 37) % 256);
    const back = decodePng(encodePng(rgba, 3, 2));
    expect(back.width).toBe(3);
    expect(back.height).toBe(2);
    expect([...back.rgba]).toEqual([...rgba]);
  });
});

describe('tile grid', () => {
  it('puts the scene, with a margin, in a power-of-two pyramid of 256-px tiles', () => {
    const g = tileGridFor(489, 443);
    expect(g.maxZoom).toBe(2);
    expect(g.extent).toBe(1024);
    expect(g.offset).toBe(256);
    expect(tileWindow(g, 0, 0, 0)).toEqual({ x: -256, y: -256, width: 1024, height: 1024, step: 4 });
    expect(tileWindow(g, 2, 2, 1)).toEqual({ x: 256, y: 0, width: 256, height: 256, step: 1 });
    expect(tileExists(g, 2, 0, 0)).toBe(false); // all margin
    expect(tileExists(g, 2, 1, 1)).toBe(true);
    expect(tileExists(g, 2, 3, 1)).toBe(false); // x from 512: past the 489-px scene
    expect(tileExists(g, 3, 0, 0)).toBe(false); // past maxZoom
  });
  it('maps pixels to map lon/lat and back, and pixels to the scene CRS and back', () => {
    const g = tileGridFor(10_000, 10_000);
    const [lng, lat] = pixelToMapLngLat(g, 1234.5, 9876.25);
    const [px, py] = mapLngLatToPixel(g, lng, lat);
    expect(px).toBeCloseTo(1234.5, 6);
    expect(py).toBeCloseTo(9876.25, 6);
    const gt = [630534, 28.5, 0, 228114, 0, -28.5];
    expect(pixelToCrs(gt, 10, 20)).toEqual([630534 + 285, 228114 - 570]);
    const [cx, cy] = crsToPixel(gt, 630534 + 285, 228114 - 570);
    expect(cx).toBeCloseTo(10, 9);
    expect(cy).toBeCloseTo(20, 9);
  });
});

describe('sampler', () => {
  it('samples pixel centres and keeps every read within the value budget', async () => {
    const { scene, reads } = fakeScene(3000, 2000, 3, (b, x, y) => b * 1000 + (x % 100) + (y % 50));
    const g = await sampleSensor(scene, 's', { x: 0, y: 0, width: 3000, height: 2000 }, 8);
    expect(g.width).toBe(375);
    expect(g.height).toBe(250);
    // sample (i, j) is pixel (i*8+4, j*8+4)
    const plane = g.width * g.height;
    expect(g.data[1 * plane + 7 * g.width + 5]).toBe(1000 + ((5 * 8 + 4) % 100) + ((7 * 8 + 4) % 50));
    for (const r of reads) expect(r.width * r.height * 3).toBeLessThanOrEqual(READ_BUDGET_VALUES);
    expect(reads.length).toBeGreaterThan(1);
  });
  it('leaves samples outside the scene invalid', async () => {
    const { scene } = fakeScene(300, 200, 1, () => 7);
    const g = await sampleSensor(scene, 's', { x: 256, y: 0, width: 256, height: 256 }, 1);
    expect(g.valid[0]).toBe(1); // pixel (256, 0)
    expect(g.valid[50]).toBe(0); // pixel (306, 0) is outside
    expect(g.valid[210 * 256]).toBe(0); // row 210 is outside
  });
});

describe('stretch and palettes', () => {
  it('finds percentiles of valid samples only', async () => {
    const { scene } = fakeScene(100, 100, 1, (_b, x) => x, (x) => x >= 90);
    const g = await sampleSensor(scene, 's', { x: 0, y: 0, width: 100, height: 100 }, 1);
    expect(percentiles(g, 0, [0, 100])).toEqual([0, 89]);
    const r = stretchRange(g, 0, 2, 98);
    expect(r.low).toBeGreaterThanOrEqual(1);
    expect(r.high).toBeLessThanOrEqual(88);
  });
  it('builds class lookups and a monotone confidence ramp', () => {
    const lut = classLut([{ id: 3, name: 'water', colour: '#1f77b4' }]);
    expect([...lut.subarray(12, 16)]).toEqual([0x1f, 0x77, 0xb4, 255]);
    expect(lut[4 * 4 + 3]).toBe(0);
    expect(rampColour(0)).toEqual([68, 1, 84]);
    expect(rampColour(1)).toEqual([253, 231, 37]);
  });
});

describe('TileRenderer', () => {
  it('renders a full-resolution tile pixel-exactly with nodata transparent', async () => {
    const { scene } = fakeScene(600, 300, 3, (b, x, y) => [x % 256, y % 256, 100][b], (x, y) => x < 5 && y < 5);
    const r = new TileRenderer();
    const grid = r.grid({ key: 'a', scene, sensor: 's' });
    expect(grid.maxZoom).toBe(3);
    expect(grid.offset).toBe(512);
    const { rgba, width } = decodePng(await r.tile({ key: 'a', scene, sensor: 's' }, identity, 'id', 3, 3, 2));
    expect(width).toBe(256);
    const px = (x: number, y: number) => [...rgba.subarray((y * 256 + x) * 4, (y * 256 + x) * 4 + 4)];
    expect(px(10, 20)).toEqual([(256 + 10) % 256, 20, 100, 255]);
    const first = decodePng(await r.tile({ key: 'a', scene, sensor: 's' }, identity, 'id', 3, 2, 2)).rgba;
    expect(first[3]).toBe(0); // pixel (0,0) is nodata
    expect(first[(10 * 256 + 10) * 4 + 3]).toBe(255);
    // Tile row 1 covers scene rows 256..511; rows 300+ lie outside the 300-row scene.
    const below = decodePng(await r.tile({ key: 'a', scene, sensor: 's' }, identity, 'id', 3, 2, 3)).rgba;
    expect(below[(43 * 256 + 10) * 4 + 3]).toBe(255);
    expect(below.subarray(44 * 256 * 4).every((v, i) => i % 4 !== 3 || v === 0)).toBe(true);
    const outside = decodePng(await r.tile({ key: 'a', scene, sensor: 's' }, identity, 'id', 3, 2, 4)).rgba;
    expect(outside.every((v) => v === 0)).toBe(true);
  });

  it('renders zoomed-out tiles of a large scene from one overview without reading it whole', async () => {
    const { scene, reads } = fakeScene(10_000, 10_000, 3, (b, x, y) => (b === 0 ? (x / 10_000) * 255 : (y / 10_000) * 255));
    const r = new TileRenderer();
    const src = { key: 'big', scene, sensor: 's' };
    expect(overviewStep(10_000, 10_000, 3)).toBe(16);
    const grid = r.grid(src);
    const win = tileWindow(grid, 1, 0, 0); // 16384 scene px from -8192, every 64th pixel
    expect(win).toMatchObject({ x: -8192, step: 64 });
    const { rgba } = decodePng(await r.tile(src, identity, 'id', 1, 0, 0));
    const sceneX = (tx: number) => win.x + tx * 64 + 32;
    expect(Math.abs(rgba[(200 * 256 + 200) * 4] - (sceneX(200) / 10_000) * 255)).toBeLessThan(2);
    expect(rgba[(200 * 256 + 100) * 4 + 3]).toBe(0); // x < 0: margin
    const readsAfterOverview = reads.length;
    await r.tile(src, identity, 'id', 2, 1, 1);
    expect(reads.length).toBe(readsAfterOverview); // served from the overview
    for (const w of reads) expect(w.width * w.height * 3).toBeLessThanOrEqual(READ_BUDGET_VALUES);
    await r.tile(src, identity, 'id', 7, 40, 40); // full resolution reads only its window
    expect(reads.slice(readsAfterOverview).every((w) => w.width <= 256 && w.height <= 256)).toBe(true);
  });

  it('paints class maps with the pack palette and previews within the size asked', async () => {
    const { scene } = fakeScene(400, 200, 1, (_b, x) => (x < 200 ? 1 : 2), (x) => x >= 390);
    const r = new TileRenderer();
    const lut = classLut([{ id: 1, name: 'a', colour: '#ff0000' }, { id: 2, name: 'b', colour: '#00ff00' }]);
    const png = decodePng(await r.preview({ key: 'c', scene, sensor: 's' }, { kind: 'palette', band: 0, lut }, 100));
    expect([png.width, png.height]).toEqual([100, 50]);
    expect([...png.rgba.subarray(0, 4)]).toEqual([255, 0, 0, 255]);
    expect([...png.rgba.subarray(60 * 4, 60 * 4 + 4)]).toEqual([0, 255, 0, 255]);
    expect(png.rgba[(99) * 4 + 3]).toBe(0);
  });
});
