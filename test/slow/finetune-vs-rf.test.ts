/**
 * The issue's acceptance comparison on shared data: `finetune` given only a few labelled pixels
 * per class (drawn from the training side of a spatial split; it holds some back for its own
 * early stopping; on the default packs' training scenes, a split of the pixels they held back),
 * scored like `fieldmoe eval` on the other side, against a random forest
 * (sklearn) trained on all of those few pixels. MaMOL: one fine-tuned model evaluated with each
 * sensor missing in turn against one forest per sensor subset. The cases and their runner live in
 * scripts/finetune-vs-rf.ts, which also runs them over several seeds and label counts and reports
 * margins. Seeds here: FIELDMOE_RF_SEEDS (comma-separated, default 0); label counts:
 * FIELDMOE_RF_PIXELS (default each case's). Results go to
 * test/.artifacts/finetune-vs-rf/finetune-vs-rf.json; each case must beat its forest on OA at
 * every seed.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CASES, marginTable, runCase, type Row } from '../../scripts/finetune-vs-rf';
import { artifactDir, sharedData } from '../helpers/paths';

const OUT = artifactDir('finetune-vs-rf');
const results: Row[] = [];
const ints = (s: string | undefined) => (s ? s.split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 0) : []);
const seeds = ints(process.env.FIELDMOE_RF_SEEDS);
const counts = ints(process.env.FIELDMOE_RF_PIXELS);

afterAll(async () => {
  await fs.mkdir(OUT, { recursive: true });
  await fs.writeFile(path.join(OUT, 'finetune-vs-rf.json'), JSON.stringify(results, null, 1) + '\n');
  await fs.writeFile(path.join(OUT, 'margins.md'), marginTable(results) + '\n');
});

describe('few-shot fine-tuning against a random forest on the same labels', () => {
  for (const c of CASES)
    for (const pixelsPerClass of counts.length ? counts : [c.pixelsPerClass])
      for (const seed of seeds.length ? seeds : [0])
        it(`${c.name.replace(/ \d+\/class$/, '')} ${pixelsPerClass}/class seed ${seed}`, async () => {
          sharedData(c.dataset);
          const rows = await runCase(c, {
            seed, pixelsPerClass, outDir: OUT,
            onRow: (row) => {
              results.push(row);
              process.stderr.write(`${JSON.stringify(row)}\n`);
            },
          });
          expect(rows).toHaveLength(c.missing.length + (c.otherRegions?.length ?? 0));
          for (const row of rows) {
            // runCase checks the few-shot cap (at most pixelsPerClass per class); both sides score the same held-out pixels
            expect(row.trainPixels).toBeGreaterThan(0);
            expect(row.testPixels).toBeGreaterThan(0);
            expect.soft(row.ours.oa, `${row.case} seed ${seed} ${row.region ? `in ${row.region}` : `missing [${row.missing}]`}: ours ${row.ours.oa.toFixed(3)} vs RF ${row.rf.oa.toFixed(3)}`).toBeGreaterThan(row.rf.oa);
          }
        });
});
