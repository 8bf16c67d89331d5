import { describe, expect, it } from 'vitest';
import { TileRowSink, type TileRowWriter } from '../../../src-main/engine/classify/output';

/** A writer that reads each row of tiles only some milliseconds after it is handed over, as a busy DEFLATE queue does. */
class SlowWriter implements TileRowWriter {
  readonly tileSize = 4;
  readonly rows: number[][] = [];
  private queue = Promise.resolve();
  constructor(
    readonly width: number,
    readonly height: number,
  ) {}
  rowHeight(row: number): number {
    return Math.min(this.tileSize, this.height - row * this.tileSize);
  }
  writeTileRow(data: ArrayLike<number>): Promise<void> {
    this.queue = this.queue.then(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      this.rows.push(Array.from(data));
    });
    return this.queue;
  }
}

describe('TileRowSink', () => {
  it('hands rows of tiles to the writers without waiting, and never overwrites one before it is written', async () => {
    const W = 3;
    const H = 11; // rows of tiles of 4, 4 and 3 rows
    const classes = new SlowWriter(W, H);
    const confidence = new SlowWriter(W, H);
    const sink = new TileRowSink(classes, confidence);
    // The pipeline hands over 2 rows at a time and reuses its buffers as soon as writeRows returns.
    const c = new Uint8Array(2 * W);
    const p = new Float32Array(2 * W);
    for (let y = 0; y < H; y += 2) {
      const rows = Math.min(2, H - y);
      for (let i = 0; i < rows * W; i++) {
        c[i] = y * W + i;
        p[i] = (y * W + i) / 100;
      }
      await sink.writeRows(y, rows, c, p);
      // The first row of tiles is full now, and handed over, but the pipeline did not wait for its write.
      if (y === 2) expect(classes.rows).toHaveLength(0);
    }
    await sink.flush();
    const all = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
    expect(classes.rows).toEqual([all(12, (i) => i), all(12, (i) => 12 + i), all(9, (i) => 24 + i)]);
    expect(confidence.rows.flat()).toEqual(all(33, (i) => Math.fround(i / 100)));
  });
});
