import type { ResultSink } from './pipeline';

/** Collects the whole class map and confidence in memory: for tests, previews and small scenes. */
export class MemorySink implements ResultSink {
  readonly classes: Uint8Array;
  readonly confidence: Float32Array;
  rowsWritten = 0;
  constructor(readonly width: number, readonly height: number) {
    this.classes = new Uint8Array(width * height);
    this.confidence = new Float32Array(width * height);
  }
  async writeRows(y: number, rows: number, classes: Uint8Array, confidence: Float32Array): Promise<void> {
    if (y !== this.rowsWritten) throw new Error(`rows arrive out of order: got ${y}, expected ${this.rowsWritten}`);
    this.classes.set(classes.subarray(0, rows * this.width), y * this.width);
    this.confidence.set(confidence.subarray(0, rows * this.width), y * this.width);
    this.rowsWritten += rows;
  }
}
