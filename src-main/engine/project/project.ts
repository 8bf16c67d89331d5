import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FieldMoeError, errorMessage } from '../util/errors';
import { writeFileAtomic } from '../util/atomic';
import { projectDocumentCheck, type ProjectDocument, type RecoveryInfo } from '../../ipc/contract';
import { validate } from '../../ipc/validate';

/**
 * Project files (`*.fieldmoe.json`): the scene spec with sensor states and failure regions,
 * classes, labels, packs, results and the view. Saved atomically (temp + rename), so a crash
 * mid-save leaves the previous file intact. Paths inside are absolute; on open, a relative path
 * is resolved against the project's folder so a project folder can be moved as a whole.
 */
export const PROJECT_EXTENSION = '.fieldmoe.json';

export function emptyProject(name = 'Untitled'): ProjectDocument {
  return { format: 'fieldmoe-project', version: 1, name, scene: null, classes: [], labels: [], packs: [], results: [], layers: [], view: null };
}

export async function saveProject(file: string, document: ProjectDocument): Promise<{ path: string; savedAt: string }> {
  const checked = validate(projectDocumentCheck, document, 'project');
  if (!checked.ok) throw new FieldMoeError(file, `refusing to save an invalid project (${checked.error})`);
  await writeFileAtomic(file, JSON.stringify(checked.value, null, 1) + '\n');
  return { path: file, savedAt: new Date().toISOString() };
}

/** Parses and checks a project file; a damaged one is a one-line FieldMoeError saying what is wrong. */
export function parseProject(file: string, text: string): ProjectDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new FieldMoeError(file, `damaged project file: not valid JSON (${errorMessage(err)})`);
  }
  if (typeof raw === 'object' && raw !== null && (raw as { format?: unknown }).format !== 'fieldmoe-project') {
    throw new FieldMoeError(file, 'not a FieldMoE project (missing "format": "fieldmoe-project")');
  }
  const checked = validate(projectDocumentCheck, raw, 'project');
  if (!checked.ok) throw new FieldMoeError(file, `damaged project file: ${checked.error}`);
  return resolvePaths(checked.value, path.dirname(path.resolve(file)));
}

export async function openProject(file: string): Promise<{ path: string; document: ProjectDocument }> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FieldMoeError(file, code === 'ENOENT' ? 'project file not found' : `cannot read project file (${errorMessage(err)})`);
  }
  return { path: file, document: parseProject(file, text) };
}

function resolvePaths(doc: ProjectDocument, dir: string): ProjectDocument {
  const abs = (p: string) => (p && !path.isAbsolute(p) ? path.resolve(dir, p) : p);
  return {
    ...doc,
    scene: doc.scene && { ...doc.scene, sensors: doc.scene.sensors.map((s) => ({ ...s, file: abs(s.file) })) },
    packs: doc.packs.map(abs),
    results: doc.results.map((r) => ({ ...r, classMap: abs(r.classMap), confidence: abs(r.confidence) })),
  };
}

/**
 * Autosave and crash recovery: the app autosaves to one file in its state folder. A clean save
 * or an explicit discard removes it; finding it at start-up means the last session ended
 * without saving (a crash or a kill), and the UI offers to recover it.
 */
export class RecoveryStore {
  constructor(private readonly dir: string) {}

  get file(): string {
    return path.join(this.dir, 'autosave' + PROJECT_EXTENSION);
  }

  async autosave(projectPath: string | null, document: ProjectDocument): Promise<{ savedAt: string }> {
    const savedAt = new Date().toISOString();
    const info: RecoveryInfo = { projectPath, savedAt, document };
    await writeFileAtomic(this.file, JSON.stringify(info) + '\n');
    return { savedAt };
  }

  async read(): Promise<RecoveryInfo | null> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch {
      return null;
    }
    try {
      const raw = JSON.parse(text) as Partial<RecoveryInfo>;
      const document = parseProject(this.file, JSON.stringify(raw.document));
      return { projectPath: typeof raw.projectPath === 'string' ? raw.projectPath : null, savedAt: String(raw.savedAt ?? ''), document };
    } catch (err) {
      // A damaged autosave must not block start-up: keep it aside for inspection and move on.
      await fs.rename(this.file, `${this.file}.damaged-${Date.now()}`).catch(() => undefined);
      return null;
    }
  }

  async discard(): Promise<boolean> {
    try {
      await fs.rm(this.file);
      return true;
    } catch {
      return false;
    }
  }
}
