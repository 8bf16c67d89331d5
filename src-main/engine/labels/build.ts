import type { ClassTable } from './classes';
import type { LabelSet, LabelSourceKind } from './types';

/**
 * Collects labelled pixels from any number of features and turns them into a LabelSet.
 * Rules for overlaps, stated once here: a pixel claimed by two features of the same class
 * keeps the first feature; a pixel claimed by different classes is ambiguous and dropped
 * (counted in a warning), so no pixel ever trains on a coin-flip label.
 */
export class LabelAccumulator {
  /** pixel key (y * width + x) -> class index, or -1 once ambiguous. */
  private readonly classOf = new Map<number, number>();
  private readonly featureOf = new Map<number, number>();

  constructor(
    readonly width: number,
    readonly height: number,
  ) {}

  add(x: number, y: number, classIndex: number, featureId: number): void {
    const key = y * this.width + x;
    const prev = this.classOf.get(key);
    if (prev === undefined) {
      this.classOf.set(key, classIndex);
      this.featureOf.set(key, featureId);
    } else if (prev !== classIndex) {
      this.classOf.set(key, -1);
    }
  }

  finish(source: string, kind: LabelSourceKind, table: ClassTable, featureCount: number, warnings: string[]): LabelSet {
    const keys = [...this.classOf.keys()].filter((k) => this.classOf.get(k)! >= 0).sort((a, b) => a - b);
    const ambiguous = this.classOf.size - keys.length;
    if (ambiguous > 0) warnings.push(`${ambiguous} pixels were labelled with different classes by overlapping features and were left out`);
    const n = keys.length;
    const set: LabelSet = {
      source,
      kind,
      width: this.width,
      height: this.height,
      classes: table.classes,
      x: new Uint32Array(n),
      y: new Uint32Array(n),
      classIndex: new Uint16Array(n),
      featureId: new Int32Array(n),
      featureCount,
      classCounts: new Array(table.classes.length).fill(0),
      warnings: [...table.warnings, ...warnings],
    };
    keys.forEach((k, i) => {
      set.x[i] = k % this.width;
      set.y[i] = Math.floor(k / this.width);
      set.classIndex[i] = this.classOf.get(k)!;
      set.featureId[i] = this.featureOf.get(k)!;
      set.classCounts[set.classIndex[i]]++;
    });
    return set;
  }
}
