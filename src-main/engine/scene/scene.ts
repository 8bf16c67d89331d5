import { CancelledError, FieldMoeError } from '../util/errors';
import { openRaster, type RasterSource } from '../raster/reader';
import { wavelengthFromText } from '../raster/gdalMetadata';
import { SAMPLE_TYPE_SPECS } from '../raster/sampleTypes';
import { resolveSceneSpec, type ResolvedSceneSpec } from './manifest';
import { guessSensorKind } from './kind';
import { axisSamples, planGrid, resampleBlock, sourceWindow, type GridMapping } from './grid';
import { applyFailureRegions } from './failureMask';
import type {
  BandInfo, FailureRegion, PixelWindow, ReadOptions, ResamplingMethod, Scene, SceneInfo, SceneSpec, SensorBlock, SensorInfo, SensorSpec,
} from './types';

export interface OpenSceneOptions {
  /** Sensor whose grid the scene uses (default: the manifest's reference_sensor, else the first). */
  referenceSensor?: string;
  /** Sensor ids to treat as failed for the whole scene (CLI --missing). */
  missing?: readonly string[];
  /** Most source values (all bands) held at once while resampling one sensor (default 16M = 64 MB). */
  resampleBudget?: number;
  /** Decoded-block cache per raster (see OpenRasterOptions; default 64 MB). */
  blockCacheBytes?: number;
}

interface OpenedSensor {
  info: SensorInfo;
  raster: RasterSource;
  mapping: GridMapping;
  regions: FailureRegion[];
}

/**
 * Opens a scene from a GeoTIFF, a manifest (file or folder) or CLI sensor specs. Every raster is
 * opened (headers only) and checked against the reference grid up front, so a bad scene fails
 * before any long job starts.
 */
export async function openScene(spec: SceneSpec, options: OpenSceneOptions = {}): Promise<Scene> {
  const resolved = await resolveSceneSpec(spec);
  const missing = new Set(options.missing ?? []);
  const ids = resolved.sensors.map((s) => s.id);
  for (const id of missing) {
    if (!ids.includes(id)) throw new FieldMoeError('--missing', `unknown sensor "${id}"; the scene has ${ids.join(', ')}`);
  }
  const referenceId = options.referenceSensor ?? resolved.referenceSensor ?? ids[0];
  if (!ids.includes(referenceId)) throw new FieldMoeError(resolved.source, `reference sensor "${referenceId}" is not one of the sensors (${ids.join(', ')})`);

  const rasters: RasterSource[] = [];
  try {
    for (const s of resolved.sensors) rasters.push(await openRaster(s.file, { blockCacheBytes: options.blockCacheBytes }));
    return buildScene(resolved, rasters, referenceId, missing, options.resampleBudget ?? DEFAULT_RESAMPLE_BUDGET);
  } catch (err) {
    await Promise.all(rasters.map((r) => r.close().catch(() => undefined)));
    throw err;
  }
}

function mergeBands(subject: string, spec: SensorSpec, raster: RasterSource): BandInfo[] {
  const fileBands = raster.info.bands;
  if (!spec.bands) return fileBands.map((b) => ({ ...b }));
  if (spec.bands.length !== fileBands.length) {
    throw new FieldMoeError(subject, `sensor "${spec.id}" lists ${spec.bands.length} bands but ${raster.info.path} has ${fileBands.length}`);
  }
  return fileBands.map((fb, i) => {
    const sb = spec.bands![i];
    const band: BandInfo = { index: i, name: sb.name ?? fb.name };
    // a band named in the manifest ("NIR") without a wavelength: the one its name stands for
    const wl = sb.wavelengthNm ?? fb.wavelengthNm ?? (sb.name === undefined ? undefined : wavelengthFromText(sb.name));
    if (wl !== undefined) band.wavelengthNm = wl;
    return band;
  });
}

function defaultResampling(raster: RasterSource): ResamplingMethod {
  return SAMPLE_TYPE_SPECS[raster.info.sampleType].isInteger ? 'nearest' : 'bilinear';
}

function buildScene(resolved: ResolvedSceneSpec, rasters: RasterSource[], referenceId: string, missing: ReadonlySet<string>, resampleBudget: number): Scene {
  const refIndex = resolved.sensors.findIndex((s) => s.id === referenceId);
  const ref = { id: referenceId, raster: rasters[refIndex].info };
  const sensors: OpenedSensor[] = resolved.sensors.map((spec, i) => {
    const raster = rasters[i];
    const mapping = planGrid(resolved.source, ref, { id: spec.id, raster: raster.info }, spec.resampling ?? defaultResampling(raster));
    const info: SensorInfo = {
      id: spec.id,
      kind: spec.kind ?? guessSensorKind(raster.info),
      file: raster.info.path,
      bands: mergeBands(resolved.source, spec, raster),
      failed: spec.failed === true || missing.has(spec.id),
      raster: raster.info,
      resampled: !mapping.identity,
    };
    return { info, raster, mapping, regions: resolved.failureRegions.filter((r) => r.sensor === spec.id) };
  });
  const refRaster = rasters[refIndex];
  const info: SceneInfo = {
    source: resolved.source,
    width: ref.raster.width,
    height: ref.raster.height,
    referenceSensor: referenceId,
    sensors: sensors.map((s) => s.info),
    failureRegions: resolved.failureRegions,
  };
  if (ref.raster.crs) info.crs = ref.raster.crs;
  if (ref.raster.geoTransform) info.geoTransform = ref.raster.geoTransform;
  if (Object.keys(refRaster.georeferencing).length > 0) info.georeferencing = refRaster.georeferencing;
  return new OpenedScene(info, sensors, resampleBudget);
}

/**
 * valid = 0 where any band is NaN or infinite (a model cannot use a partial spectrum; an
 * infinite value is no measurement, and read as NaN so that nothing downstream averages it) or where every band
 * equals nodata. A nodata value in only some bands stays valid data: in 8-bit Landsat, band 7 is
 * legitimately 0 over water while the other bands are not (nc-landsat7: 38% vs 15%), so an
 * any-band rule would drop real water pixels.
 *
 * Cost: the all-bands-nodata rule only follows the pixels still at nodata band after band (the
 * first band's nodata pixels, usually few), not every band of every pixel. `mayHoldNaN = false`
 * (integer samples, window inside the raster: no value can be NaN) skips the NaN scan.
 */
export function markInvalid(data: Float32Array, bands: number, plane: number, nodata: number | undefined, valid: Uint8Array, mayHoldNaN = true): void {
  if (mayHoldNaN) {
    for (let b = 0; b < bands; b++) {
      const base = b * plane;
      for (let i = 0; i < plane; i++) {
        const v = data[base + i];
        if (v !== v) valid[i] = 0;
        else if (v === Infinity || v === -Infinity) {
          data[base + i] = NaN;
          valid[i] = 0;
        }
      }
    }
  }
  if (nodata === undefined || Number.isNaN(nodata) || bands === 0) return;
  const nd = Math.fround(nodata);
  let count = 0;
  for (let i = 0; i < plane; i++) if (data[i] === nd) count++;
  if (count === 0) return;
  const candidates = new Int32Array(count);
  count = 0;
  for (let i = 0; i < plane; i++) if (data[i] === nd) candidates[count++] = i;
  for (let b = 1; b < bands && count > 0; b++) {
    const base = b * plane;
    let kept = 0;
    for (let k = 0; k < count; k++) {
      const i = candidates[k];
      if (data[base + i] === nd) candidates[kept++] = i;
    }
    count = kept;
  }
  for (let k = 0; k < count; k++) valid[candidates[k]] = 0;
}

/** True when `window` lies inside a width x height raster (no pixel reads as NaN for lying outside). */
function insideRaster(window: PixelWindow, width: number, height: number): boolean {
  return window.x >= 0 && window.y >= 0 && window.x + window.width <= width && window.y + window.height <= height;
}

const DEFAULT_RESAMPLE_BUDGET = 16 * 1024 * 1024;

class OpenedScene implements Scene {
  private readonly byId: Map<string, OpenedSensor>;

  constructor(
    readonly info: SceneInfo,
    private readonly sensors: OpenedSensor[],
    private readonly resampleBudget: number,
  ) {
    this.byId = new Map(sensors.map((s) => [s.info.id, s]));
  }

  async readWindow(window: PixelWindow, options: ReadOptions = {}): Promise<Map<string, SensorBlock>> {
    const ids = options.sensors ?? this.sensors.map((s) => s.info.id);
    const chosen = ids.map((id) => {
      const s = this.byId.get(id);
      if (!s) throw new FieldMoeError(this.info.source, `unknown sensor "${id}"; the scene has ${[...this.byId.keys()].join(', ')}`);
      return s;
    });
    if (!Number.isInteger(window.x) || !Number.isInteger(window.y) || !(window.width >= 0) || !(window.height >= 0)) {
      throw new FieldMoeError(this.info.source, `invalid read window ${JSON.stringify(window)}`);
    }
    const plans = chosen.map((s) => ({ s, bands: this.bandSubset(s, options.bands) }));
    if (options.signal?.aborted) throw new CancelledError();
    const blocks = await Promise.all(plans.map(({ s, bands }) => this.readSensor(s, window, bands, options.reuse?.get(s.info.id), options.signal)));
    return new Map(blocks.map((b) => [b.sensor, b]));
  }

  /** The file bands to read for a sensor: the requested subset (checked), or undefined for all. */
  private bandSubset(s: OpenedSensor, subsets: ReadOptions['bands']): readonly number[] | undefined {
    const bands = subsets?.get(s.info.id);
    if (!bands) return undefined;
    const n = s.info.raster.bandCount;
    const bad = bands.find((b) => !Number.isInteger(b) || b < 0 || b >= n);
    if (bad !== undefined) throw new FieldMoeError(s.info.file, `band index ${bad} out of range (sensor ${s.info.id} has ${n} bands)`);
    if (bands.length === 0) throw new FieldMoeError(s.info.file, `empty band list for sensor ${s.info.id}`);
    return bands;
  }

  private async readSensor(s: OpenedSensor, window: PixelWindow, subset: readonly number[] | undefined, reuse: SensorBlock | undefined, signal?: AbortSignal): Promise<SensorBlock> {
    const raster = s.info.raster;
    const bands = subset ? subset.length : raster.bandCount;
    const plane = window.width * window.height;
    // A block handed back by the caller lends its buffers when they are the right size.
    const fits = reuse !== undefined && reuse.data.length === bands * plane && reuse.valid.length === plane;
    const data = fits ? reuse.data : new Float32Array(bands * plane);
    const valid = fits ? reuse.valid : new Uint8Array(plane);
    if (s.mapping.identity) {
      await s.raster.readWindow(window, subset, signal, data);
      valid.fill(1);
      const mayHoldNaN = !SAMPLE_TYPE_SPECS[raster.sampleType].isInteger || !insideRaster(window, raster.width, raster.height);
      markInvalid(data, bands, plane, raster.nodata, valid, mayHoldNaN);
    } else {
      await this.readResampled(s, window, subset, data, valid, signal);
    }
    if (s.info.failed) valid.fill(0);
    else if (s.regions.length > 0) applyFailureRegions(valid, window, s.regions, this.info.geoTransform);
    const block: SensorBlock = { sensor: s.info.id, bands, width: window.width, height: window.height, data, valid };
    if (subset) block.bandIndices = [...subset];
    return block;
  }

  /**
   * Reads a sensor on another grid in chunks of reference rows, so a much finer sensor (say 10 m
   * under a 60 m reference) never needs more than `resampleBudget` source values at once.
   */
  private async readResampled(s: OpenedSensor, window: PixelWindow, subset: readonly number[] | undefined, data: Float32Array, valid: Uint8Array, signal?: AbortSignal): Promise<void> {
    const raster = s.info.raster;
    const bands = subset ? subset.length : raster.bandCount;
    const plane = window.width * window.height;
    const cols = axisSamples(s.mapping.col, window.x, window.width);
    const srcRowsPerRow = Math.max(1, Math.abs(s.mapping.row.scale));
    const chunkRows = Math.max(1, Math.floor(this.resampleBudget / (bands * cols.length * srcRowsPerRow)));
    const integer = SAMPLE_TYPE_SPECS[raster.sampleType].isInteger;
    for (let r0 = 0; r0 < window.height; r0 += chunkRows) {
      const h = Math.min(chunkRows, window.height - r0);
      const rows = axisSamples(s.mapping.row, window.y + r0, h);
      const src = sourceWindow(cols, rows);
      const srcData = await s.raster.readWindow(src, subset, signal);
      const srcValid = new Uint8Array(src.width * src.height).fill(1);
      markInvalid(srcData, bands, src.width * src.height, raster.nodata, srcValid, !integer || !insideRaster(src, raster.width, raster.height));
      const chunkPlane = h * window.width;
      const whole = h === window.height;
      const outData = whole ? data : new Float32Array(bands * chunkPlane);
      const outValid = whole ? valid : valid.subarray(r0 * window.width, (r0 + h) * window.width);
      resampleBlock(srcData, srcValid, src.width, src.height, bands, cols, rows, s.mapping.method, outData, outValid);
      if (!whole) for (let b = 0; b < bands; b++) data.set(outData.subarray(b * chunkPlane, (b + 1) * chunkPlane), b * plane + r0 * window.width);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.sensors.map((s) => s.raster.close()));
  }
}
