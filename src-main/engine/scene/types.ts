/**
 * The scene contract shared by the classify pipeline, fine-tuning, the CLI and the app.
 * A scene is one raster per sensor on one pixel grid (the reference sensor's); everything is
 * read in windows, so no code path holds a whole large raster.
 */
export const SENSOR_KINDS = ['multispectral', 'hyperspectral', 'rgb', 'sar', 'lidar', 'dem', 'other'] as const;
export type SensorKind = (typeof SENSOR_KINDS)[number];
/** Sensor kinds whose values are elevations. */
export const ELEVATION_KINDS: readonly SensorKind[] = ['lidar', 'dem'];

export const SAMPLE_TYPES = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64'] as const;
export type SampleType = (typeof SAMPLE_TYPES)[number];

/** Affine geotransform in GDAL order: [originX, pixelWidth, rowRotation, originY, colRotation, pixelHeight]. */
export type GeoTransform = [number, number, number, number, number, number];

export interface Crs {
  /** EPSG code when the GeoKeys name one. */
  epsg?: number;
  /** proj4 definition for display and reprojection (e.g. to lon/lat). */
  proj4?: string;
  /** Human-readable name (citation GeoKey or EPSG name). */
  name?: string;
}

/**
 * GeoTIFF georeferencing tags exactly as stored in a file, so a writer can copy them bit for bit
 * (GDAL then reports the very same CRS and geotransform for outputs as for the input).
 */
export interface RawGeoreferencing {
  geoKeyDirectory?: number[];
  geoDoubleParams?: number[];
  geoAsciiParams?: string;
  modelPixelScale?: number[];
  modelTiepoint?: number[];
  modelTransformation?: number[];
}

export interface BandInfo {
  /** 0-based band index in the file. */
  index: number;
  name: string;
  wavelengthNm?: number;
  /**
   * A band the file lacks that a pack supplies as this constant (raw units; packs/fillBands.ts);
   * its index follows the file's bands.
   */
  fill?: number;
}

export interface RasterInfo {
  path: string;
  width: number;
  height: number;
  bandCount: number;
  sampleType: SampleType;
  nodata?: number;
  crs?: Crs;
  geoTransform?: GeoTransform;
  bands: BandInfo[];
  /** Internal block size (tile or strip), useful to align read windows. */
  blockWidth: number;
  blockHeight: number;
  compression: string;
}

/** A pixel window in the scene's (reference) grid. */
export interface PixelWindow {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface SensorInfo {
  id: string;
  kind: SensorKind;
  /** Absolute path of the raster. */
  file: string;
  bands: BandInfo[];
  /** Marked failed for the whole scene (manifest `failed: true` or `--missing`). */
  failed: boolean;
  raster: RasterInfo;
  /** True when this sensor is resampled on the fly to the reference grid. */
  resampled: boolean;
}

/** A region where one sensor is known bad; geometry is GeoJSON in the scene CRS. */
export interface FailureRegion {
  sensor: string;
  geometry: { type: 'Polygon'; coordinates: number[][][] } | { type: 'MultiPolygon'; coordinates: number[][][][] };
}

export interface SceneInfo {
  /** What the scene was opened from (tif, manifest, folder, or its sensors' files when given one by one). */
  source: string;
  width: number;
  height: number;
  crs?: Crs;
  geoTransform?: GeoTransform;
  referenceSensor: string;
  sensors: SensorInfo[];
  failureRegions: FailureRegion[];
  /** The reference sensor's georeferencing tags: what result GeoTIFFs copy. */
  georeferencing?: RawGeoreferencing;
}

/** One sensor's pixels for a window: band-major float32 (bands x height x width). */
export interface SensorBlock {
  sensor: string;
  bands: number;
  width: number;
  height: number;
  data: Float32Array;
  /**
   * 0-based file bands held in `data`, in order, when the read asked for a subset
   * (`ReadOptions.bands`); absent when `data` holds every band of the sensor.
   */
  bandIndices?: number[];
  /**
   * Per pixel: 1 where the sensor has a valid value. 0 where any band is NaN, where every band
   * equals the raster's nodata (one band at the nodata value is still data: Landsat band 7 is 0
   * over water), outside the sensor's raster, for a failed sensor, and inside its failure
   * regions. `data` at invalid pixels holds whatever the file holds (often nodata or NaN).
   * With a band subset, "any band" and "every band" mean the bands read.
   */
  valid: Uint8Array;
}

export interface ReadOptions {
  /** Sensors to read (default: all). Failed sensors are read too; their `valid` is all 0. */
  sensors?: readonly string[];
  /**
   * Per sensor id: the 0-based file bands to decode, in the order `data` holds them (default: all
   * bands). A pack that maps 6 of 13 bands reads 6; validity is then judged on those bands.
   */
  bands?: ReadonlyMap<string, readonly number[]>;
  /**
   * Blocks of an earlier read that the caller is done with: a block of the same sensor and size
   * lends its `data` and `valid` buffers to this read (overwritten), so a reader going window by
   * window does not allocate, and collect, a new band of float32 per window.
   */
  reuse?: ReadonlyMap<string, SensorBlock>;
  signal?: AbortSignal;
}

export interface Scene {
  readonly info: SceneInfo;
  /** Reads a window of the reference grid for the chosen sensors, resampling where needed. */
  readWindow(window: PixelWindow, options?: ReadOptions): Promise<Map<string, SensorBlock>>;
  close(): Promise<void>;
}

/** How values of a sensor on another grid are brought onto the reference grid. */
export type ResamplingMethod = 'nearest' | 'bilinear';

/** One sensor as the CLI, the app or a manifest names it, before its file is opened. */
export interface SensorSpec {
  id: string;
  /** Absolute, or relative to the current directory. */
  file: string;
  /** Default: guessed from the raster (band count, wavelengths, names). */
  kind?: SensorKind;
  failed?: boolean;
  /** Per band; when absent, names and wavelengths come from the file's metadata. */
  bands?: { name?: string; wavelengthNm?: number }[];
  /** Default: nearest for integer sample types, bilinear for float ones. */
  resampling?: ResamplingMethod;
}

/** How the CLI and the app describe a scene before opening it. */
export type SceneSpec =
  | string // a GeoTIFF, a manifest JSON (sensors.json or {sensors, failure_regions}), or a folder holding sensors.json
  | { sensors: SensorSpec[]; failureRegions?: FailureRegion[]; referenceSensor?: string };
