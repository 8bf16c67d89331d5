import type { ClassDef } from '../../ipc/contract';

export function hexToRgb(hex: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
}

/** RGBA lookup for class ids 0..255; ids without a class stay transparent. */
export function classLut(classes: readonly ClassDef[]): Uint8Array {
  const lut = new Uint8Array(256 * 4);
  for (const c of classes) {
    if (c.id < 0 || c.id > 255) continue;
    lut.set([...hexToRgb(c.colour), 255], c.id * 4);
  }
  return lut;
}

/**
 * A perceptually ordered ramp for confidence (0 = dark purple, 1 = yellow; viridis anchors),
 * so low-confidence areas stand out against the imagery.
 */
const VIRIDIS: [number, number, number][] = [
  [68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37],
];
export function rampColour(t: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i];
  const b = VIRIDIS[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as [number, number, number];
}
