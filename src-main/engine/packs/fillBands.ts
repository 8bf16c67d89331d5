/**
 * Bands a pack can do without. A pack trained on one band set (MaMOL's optical input: the 13
 * bands of Sentinel-2 Level-1C; its SAR input: VV and VH) lists its bands by wavelength or name;
 * a requirement with `fill` may be absent from the scene's sensor, as Level-2A products drop B10
 * (cirrus, 1375 nm) and some Sentinel-1 products carry VV alone. The scene is then wrapped so
 * that the sensor has that band as a constant plane at the pack's training mean: band mapping,
 * reads, fine-tuning and classification see an ordinary band, and the model an input at its
 * typical value rather than an out-of-range one. The fill is in normalised units
 * (scenes come in any scale: reflectance 0..1 or x 10000); the plane holds it in the scene's
 * units, through the input's normalisation (classify: the manifest's; fine-tuning: the scene's
 * own, which it recomputes: withFilledBandsAtSceneScale).
 *
 * At most half of an input's bands may be filled: with fewer real bands the model would mostly
 * see constants, and a pack that takes any band set (SpectralMoE's wavelength embedding) is the
 * one to use.
 */
import type { BandInfo, PixelWindow, ReadOptions, Scene, SceneInfo, SensorBlock, SensorInfo } from '../scene/types';
import { readWhole } from '../scene/whole';
import { applyWavelengthOverrides, mapBands, matchList, type BandMapOptions, type BandMapping } from './bandmap';
import type { BandRequirement, BandSpec, PackManifest } from './manifest';

export interface FilledBand {
  sensor: string;
  /** Index of the band on the wrapped sensor (after the file's bands). */
  index: number;
  name: string;
  /** What the band is matched by: its wavelength, else its name (a SAR polarisation). */
  wavelengthNm?: number;
  /** The plane's value, in the scene's units. */
  value: number;
}

/** The uniform normalisation an input's values get: value' = (value - mean) / std. */
export interface FillScale {
  mean: number;
  std: number;
}

export interface FillOptions extends BandMapOptions {
  /** Per sensor id: the normalisation its bands get (default: the manifest input's). */
  scale?: ReadonlyMap<string, FillScale>;
}

/** `scene` with the bands `manifest` fills in where its sensors lack them, and which those are (none: `scene` itself). */
export function withFilledBands(scene: Scene, manifest: PackManifest, options: FillOptions = {}): { scene: Scene; filled: FilledBand[] } {
  if (scene instanceof FilledScene) return { scene, filled: scene.filled };
  const bandsOf = applyWavelengthOverrides(scene.info, options.wavelengths);
  const filled: FilledBand[] = [];
  const taken = new Set<string>();
  for (const input of manifest.inputs) {
    if (input.bands.mode !== 'fixed' || !input.bands.list.some(fillable)) continue;
    const list = input.bands.list;
    for (const sensor of scene.info.sensors.filter((s) => input.sensorKinds.includes(s.kind) && !taken.has(s.id))) {
      const bands = bandsOf.get(sensor.id)!;
      const { unmatched } = matchList(list, bands);
      if (!unmatched.length) break;
      // missing more than half: not filled (bandmap takes it band for band when it matched nothing, else refuses it)
      if (!unmatched.every(fillable) || unmatched.length * 2 > list.length) continue;
      taken.add(sensor.id);
      const norm = input.normalization;
      unmatched.filter(fillable).forEach((r, k) => {
        const c = list.indexOf(r);
        const { mean, std } = options.scale?.get(sensor.id) ?? (norm.type === 'uniform' ? norm : { mean: norm.mean[c], std: norm.std[c] });
        filled.push({ sensor: sensor.id, index: bands.length + k, name: `${r.name ?? `${r.wavelengthNm} nm`} (filled)`, wavelengthNm: r.wavelengthNm, value: mean + r.fill * std });
      });
      break;
    }
  }
  return filled.length ? { scene: new FilledScene(scene, filled), filled } : { scene, filled };
}

/** The scene's band mapping for `manifest` with the bands the pack fills in (mapBands' errors when it cannot bind the scene). */
export function mapBandsWithFills(scene: Scene, manifest: PackManifest, options: BandMapOptions = {}): BandMapping {
  return mapBands(withFilledBands(scene, manifest, options).scene.info, manifest, options);
}

type Fillable = Exclude<BandRequirement, { index: number }> & { fill: number };

function fillable(r: BandRequirement): r is Fillable {
  return r.fill !== undefined;
}

/** Whether filled band `f` stands for requirement `r`. */
function fills(f: FilledBand, r: Fillable): boolean {
  return r.wavelengthNm !== undefined ? f.wavelengthNm === r.wavelengthNm : f.wavelengthNm === undefined && f.name === `${r.name} (filled)`;
}

/**
 * withFilledBands for fine-tuning, which normalises each input by the scene's own mean and std:
 * the planes take the fill through those of the sensor's file bands, not the pack's.
 */
export async function withFilledBandsAtSceneScale(scene: Scene, manifest: PackManifest, options: BandMapOptions, signal?: AbortSignal): Promise<{ scene: Scene; filled: FilledBand[] }> {
  const first = withFilledBands(scene, manifest, options);
  if (!first.filled.length) return first;
  const scale = new Map<string, FillScale>();
  for (const id of new Set(first.filled.map((f) => f.sensor))) scale.set(id, await fileBandScale(scene, id, signal));
  return withFilledBands(scene, manifest, { ...options, scale });
}

/** Mean and std over the valid values of a sensor's file bands, on a stride (about 100k pixels). */
async function fileBandScale(scene: Scene, sensor: string, signal?: AbortSignal): Promise<FillScale> {
  const block = (await readWhole(scene, { sensors: [sensor], signal })).get(sensor)!;
  return sampledBandMeans(block, block.bands) ?? { mean: 0, std: 1 };
}

/**
 * Per-band means of a block's first C bands and the mean and std over all of them, at valid
 * pixels where every one is finite, on a stride (about 100k pixels); undefined without any.
 */
export function sampledBandMeans(block: SensorBlock, C: number): { perBand: number[]; mean: number; std: number } | undefined {
  const n = block.width * block.height;
  const stride = Math.max(1, Math.floor(n / 100_000));
  const sum = new Float64Array(C);
  let all = 0;
  let allSq = 0;
  let count = 0;
  for (let p = 0; p < n; p += stride) {
    if (!block.valid[p]) continue;
    const v = Array.from({ length: C }, (_, c) => block.data[c * n + p]);
    if (!v.every((x) => x === x)) continue;
    v.forEach((x, c) => ((sum[c] += x), (all += x), (allSq += x * x)));
    count++;
  }
  if (!count) return undefined;
  const mean = all / (count * C);
  const std = Math.sqrt(Math.max(allSq / (count * C) - mean * mean, 0)) || 1;
  return { perBand: Array.from(sum, (x) => x / count), mean, std };
}

/**
 * `spec` with the fills of the bands in `filled` restated for the normalisation `scale`, so that
 * they give the same planes: a fine-tuned pack normalises by the scene's statistics, which the
 * filled planes took part in.
 */
export function fillsFor(spec: BandSpec, filled: readonly FilledBand[], scale: FillScale): BandSpec {
  if (spec.mode !== 'fixed' || !filled.length) return spec;
  const list = spec.list.map((r): BandRequirement => {
    if (!fillable(r)) return r;
    const f = filled.find((x) => fills(x, r));
    return f ? { ...r, fill: (f.value - scale.mean) / scale.std } : r;
  });
  return { mode: 'fixed', list };
}

/** One line per filled band, for reports and model cards. */
export function describeFilled(filled: readonly FilledBand[], pack: string): string[] {
  return filled.map((f) => `sensor ${f.sensor} lacks band ${f.name.replace(' (filled)', '')}${f.wavelengthNm !== undefined ? ` (${f.wavelengthNm} nm)` : ''}; pack ${pack} filled it with its training mean (${f.value.toPrecision(4)} in the scene's units)`);
}

class FilledScene implements Scene {
  readonly info: SceneInfo;

  constructor(
    private readonly inner: Scene,
    readonly filled: FilledBand[],
  ) {
    const extra = (s: SensorInfo): BandInfo[] => filled.filter((f) => f.sensor === s.id).map((f) => ({ index: f.index, name: f.name, wavelengthNm: f.wavelengthNm, fill: f.value }));
    this.info = { ...inner.info, sensors: inner.info.sensors.map((s) => (extra(s).length ? { ...s, bands: [...s.bands, ...extra(s)] } : s)) };
  }

  async readWindow(window: PixelWindow, options: ReadOptions = {}): Promise<Map<string, SensorBlock>> {
    const fileBands = new Map(options.bands ?? []);
    const reuse = new Map(options.reuse ?? []);
    for (const id of new Set(this.filled.map((f) => f.sensor))) {
      const fileCount = this.inner.info.sensors.find((s) => s.id === id)!.bands.length;
      const asked = options.bands?.get(id) ?? this.info.sensors.find((s) => s.id === id)!.bands.map((b) => b.index);
      const own = asked.filter((b) => b < fileCount);
      // a read of filled bands alone still needs one file band for the pixels' validity
      fileBands.set(id, own.length ? own : [0]);
      // its blocks here hold more bands than the inner ones: nothing to lend them
      reuse.delete(id);
    }
    const blocks = await this.inner.readWindow(window, { ...options, bands: fileBands, reuse });
    const out = new Map<string, SensorBlock>();
    for (const [id, block] of blocks) out.set(id, this.withFills(id, block, options.bands?.get(id)));
    return out;
  }

  /** `block` (the file bands read) with the filled planes, in the order asked (default: every band). */
  private withFills(id: string, block: SensorBlock, asked: readonly number[] | undefined): SensorBlock {
    const fills = this.filled.filter((f) => f.sensor === id);
    if (!fills.length) return block;
    const order = asked ?? this.info.sensors.find((s) => s.id === id)!.bands.map((b) => b.index);
    const n = block.width * block.height;
    const data = new Float32Array(order.length * n);
    const held = block.bandIndices ?? Array.from({ length: block.bands }, (_, i) => i);
    order.forEach((band, k) => {
      const fill = fills.find((f) => f.index === band);
      if (fill) data.fill(fill.value, k * n, (k + 1) * n);
      else data.set(block.data.subarray(held.indexOf(band) * n, (held.indexOf(band) + 1) * n), k * n);
    });
    return { ...block, bands: order.length, data, bandIndices: asked ? [...asked] : undefined };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
