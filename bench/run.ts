/**
 * `npm run bench`: runs every `bench/*.bench.ts` and writes one flat JSON object of named
 * figures to `bench-results.json` in the project root. Each bench module's default export is an
 * async function returning `{ "area.figure": number }`; ratios are always against a baseline
 * measured in the same run, never against a stored number.
 *   npm run bench                 all benchmarks
 *   npm run bench -- classify     only those whose file name contains "classify"
 */
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Bench = () => Promise<Record<string, number>>;

const here = path.dirname(fileURLToPath(import.meta.url));
const filter = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filter.length === 0 || filter.some((k) => f.includes(k)))
  .sort();

const results: Record<string, number> = {};
for (const file of files) {
  process.stderr.write(`bench: ${file}\n`);
  const mod = (await import(pathToFileURL(path.join(here, file)).href)) as { default: Bench };
  const figures = await mod.default();
  for (const [k, v] of Object.entries(figures)) {
    results[k] = Number.isFinite(v) ? Number(v.toPrecision(6)) : v;
    process.stderr.write(`  ${k} = ${results[k]}\n`);
  }
}
const out = path.resolve(here, '..', 'bench-results.json');
await writeFile(out, JSON.stringify(results, null, 2) + '\n');
process.stderr.write(`wrote ${out}\n`);
