import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPackOutput } from '../../../src-main/engine/finetune/packio';

describe('checkPackOutput', () => {
  it('takes a new folder, an empty one or a pack, and refuses a file or a folder of other files, leaving them be', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'pack-output-'));
    try {
      await expect(checkPackOutput(path.join(root, 'new'))).resolves.toBeUndefined();
      await fs.mkdir(path.join(root, 'empty'));
      await expect(checkPackOutput(path.join(root, 'empty'))).resolves.toBeUndefined();
      await fs.mkdir(path.join(root, 'pack'));
      await fs.writeFile(path.join(root, 'pack', 'manifest.json'), '{}');
      await expect(checkPackOutput(path.join(root, 'pack'))).resolves.toBeUndefined();

      await fs.mkdir(path.join(root, 'work'));
      for (const f of ['a.txt', 'b.tif', 'c.json', 'd.shp']) await fs.writeFile(path.join(root, 'work', f), f);
      await expect(checkPackOutput(path.join(root, 'work'))).rejects.toThrow(/work: holds files that are not a model pack \(a.txt, b.tif, c.json, \.\.\.\)/);
      await fs.writeFile(path.join(root, 'file.txt'), 'x');
      await expect(checkPackOutput(path.join(root, 'file.txt'))).rejects.toThrow(/file.txt: is a file; give a new folder/);
      expect((await fs.readdir(path.join(root, 'work'))).length).toBe(4);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
