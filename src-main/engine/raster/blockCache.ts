/**
 * A byte-bounded LRU of decoded blocks. The classify pipeline reads overlapping bands of tiles
 * (stride = tile - overlap), so each band of file blocks is needed by two consecutive windows;
 * keeping the last band decoded saves re-inflating it. Entries are promises so concurrent
 * requests for one block share a single decode; failed decodes are not kept.
 */
export class BlockCache<T extends { byteLength: number }> {
  private readonly entries = new Map<string, { value: Promise<T>; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    if (this.maxBytes <= 0) return load();
    const hit = this.entries.get(key);
    if (hit) {
      // Re-insert to mark as most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const entry = { value: load(), bytes: 0 };
    this.entries.set(key, entry);
    entry.value.then(
      (v) => {
        if (this.entries.get(key) !== entry) return;
        entry.bytes = v.byteLength;
        this.bytes += v.byteLength;
        this.evict();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      if (entry.bytes === 0) continue; // still decoding
      this.entries.delete(key);
      this.bytes -= entry.bytes;
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
