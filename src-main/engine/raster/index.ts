/** Public API of raster I/O: windowed GeoTIFF reading and streaming GeoTIFF writing. */
export { openRaster, geoTransformFromTags, type RasterSource, type RawGeoreferencing, type OpenRasterOptions } from './reader';
export { GeoTiffWriter, withGeoTiffWriter, writeGeoTiff, needsBigTiff, type GeoTiffWriteOptions, type RgbColor } from './writer';
export { georeferencingFromGeoTransform } from './georeferencing';
export { crsFromGeoKeys, proj4ForEpsg, sameCrs, crsLabel } from './crs';
export { SAMPLE_TYPE_SPECS, sampleTypeOf, type SampleTypeSpec, type NumericArray } from './sampleTypes';
export { parseGdalMetadata, formatGdalMetadata, bandMetadata, type MetadataItem } from './gdalMetadata';
