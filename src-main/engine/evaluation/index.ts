/**
 * Public API of the paper evaluation protocols. Importing it registers the protocols:
 *  - mamol-houston-regions (and mamol-houston, random pixel split, not run by default): MaMOL
 *    Table 1 style on Houston 2013 HS + LiDAR pixels;
 *  - spectralmoe-slovenia: SpectralMoE Table 4 style ablations on a cross-region split.
 */
import './protocols/mamol-houston';
import './protocols/spectralmoe-slovenia';

export { getProtocol, protocolNames, defaultProtocolNames, registerProtocol, type Protocol, type ProtocolOptions, type Variant, type Setting, type CellResult, type MetricKey } from './protocol';
export { runProtocol, runProtocols, writeReport, type RunOptions } from './run';
export { renderMarkdown, renderTable, findings, summarise, mergeReports, type EvalReport, type ProtocolReport, type CellRecord, type RunRecord, type Finding } from './report';
export { missingPatterns, availabilityRates, availabilityLabel, patternMask, type MissingCondition, type MissingSetting, type MissingPatterns } from './missing';
export { loadHoustonPixels, stratifiedSplit, featureStats, lidarNeighbourGroups, groupedSplit, connectedTestFraction, type HoustonPixels } from './houston';
export { randomForestPerSubset, type SensorFeatures, type SubsetForestResult } from './rf-subsets';
export { fitAndPredict, batchFeeds, IGNORE_LABEL, type Examples, type TrainSettings, type FitResult } from './train';
