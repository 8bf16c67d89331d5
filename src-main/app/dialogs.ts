import type { BrowserWindow, Dialog, FileFilter } from 'electron';
import type { Params } from '../ipc/contract';

const OPEN: Record<Params<'dialog.open'>['purpose'], { title: string; filters: FileFilter[]; folders?: boolean }> = {
  scene: { title: 'Open scene: GeoTIFF files (one per sensor) or a sensors.json manifest', filters: [{ name: 'Scenes', extensions: ['tif', 'tiff', 'json'] }] },
  project: { title: 'Open project', filters: [{ name: 'FieldMoE projects', extensions: ['json'] }] },
  pack: { title: 'Import model pack (folder with manifest.json)', filters: [], folders: true },
  labels: { title: 'Import labels', filters: [{ name: 'Labels', extensions: ['geojson', 'json', 'tif', 'tiff', 'shp'] }] },
  folder: { title: 'Choose a folder', filters: [], folders: true },
};
const SAVE: Record<Params<'dialog.save'>['purpose'], { title: string; filters: FileFilter[]; name: string }> = {
  project: { title: 'Save project', filters: [{ name: 'FieldMoE projects', extensions: ['fieldmoe.json'] }], name: 'project.fieldmoe.json' },
  classMap: { title: 'Export class map (GeoTIFF)', filters: [{ name: 'GeoTIFF', extensions: ['tif'] }], name: 'classes.tif' },
  confidence: { title: 'Export confidence (GeoTIFF)', filters: [{ name: 'GeoTIFF', extensions: ['tif'] }], name: 'confidence.tif' },
};

export async function openDialog(dialog: Dialog, win: BrowserWindow, p: Params<'dialog.open'>): Promise<string[]> {
  const spec = OPEN[p.purpose];
  const properties: ('openFile' | 'openDirectory' | 'multiSelections' | 'createDirectory')[] = spec.folders ? ['openDirectory', 'createDirectory'] : ['openFile'];
  if (p.multiple) properties.push('multiSelections');
  const r = await dialog.showOpenDialog(win, { title: spec.title, filters: spec.filters, properties });
  return r.canceled ? [] : r.filePaths;
}

export async function saveDialog(dialog: Dialog, win: BrowserWindow, p: Params<'dialog.save'>): Promise<string | null> {
  const spec = SAVE[p.purpose];
  const r = await dialog.showSaveDialog(win, { title: spec.title, filters: spec.filters, defaultPath: p.defaultName ?? spec.name });
  return r.canceled || !r.filePath ? null : r.filePath;
}
