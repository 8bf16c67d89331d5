import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../engine/util/atomic';

/** Recently opened projects, newest first, stored as a JSON array in the app's state folder. */
export class RecentProjects {
  constructor(private readonly file: string, private readonly max = 10) {}

  async list(): Promise<string[]> {
    try {
      const raw: unknown = JSON.parse(await fs.readFile(this.file, 'utf8'));
      return Array.isArray(raw) ? raw.filter((p): p is string => typeof p === 'string').slice(0, this.max) : [];
    } catch {
      return []; // missing or damaged: start afresh rather than block start-up
    }
  }

  async add(path: string): Promise<string[]> {
    const next = [path, ...(await this.list()).filter((p) => p !== path)].slice(0, this.max);
    await writeFileAtomic(this.file, JSON.stringify(next, null, 1));
    return next;
  }
}
