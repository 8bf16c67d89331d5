/**
 * `npm run eval:papers [-- --quick] [--protocols a,b] [--variants x,y] [--repeats n] [--seed s]
 *   [--data dir] [--out base] [--threads n] [--epochs n]`
 * `npm run eval:papers -- --merge a.json,b.json --out base`: one report from several runs
 *   (e.g. one per seed), each cell's runs concatenated.
 *
 * Runs the paper protocols (src-main/engine/evaluation) on the shared data and writes
 * `<out>.json` and `<out>.md` (default reports/eval-papers; --quick writes
 * reports/eval-papers-quick unless --out is given, so a smoke test never overwrites the
 * committed full results).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { defaultProtocolNames, getProtocol, mergeReports, protocolNames, runProtocols, writeReport, type EvalReport } from '../src-main/engine/evaluation/index';
import { FieldMoeError } from '../src-main/engine/util/errors';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      protocols: { type: 'string' },
      variants: { type: 'string' },
      repeats: { type: 'string' },
      seed: { type: 'string', default: '0' },
      data: { type: 'string', default: path.resolve(ROOT, '../shared/data') },
      out: { type: 'string' },
      threads: { type: 'string' },
      epochs: { type: 'string' },
      merge: { type: 'string' },
    },
  });
  const list = (s: string | undefined) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : []);
  const int = (flag: string, s: string | undefined, fallback: number) => {
    if (s === undefined) return fallback;
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new FieldMoeError(`--${flag}`, `expected a non-negative integer, got "${s}"`);
    return n;
  };
  const quick = values.quick!;
  const names = list(values.protocols).length ? list(values.protocols) : defaultProtocolNames();
  const out = values.out ?? path.join(ROOT, 'reports', quick ? 'eval-papers-quick' : 'eval-papers');
  if (values.merge) {
    const reports = await Promise.all(list(values.merge).map(async (f) => JSON.parse(await readFile(f, 'utf8')) as EvalReport));
    const merged = mergeReports(reports);
    // Title and paper claim come from the registry (reports written by older code may lack or differ in them).
    for (const p of merged.protocols)
      if (protocolNames().includes(p.name)) Object.assign(p, { title: getProtocol(p.name).title, claim: getProtocol(p.name).claim });
    const files = await writeReport(merged, values.out ?? path.join(ROOT, 'reports', 'eval-papers'));
    console.log(`merged ${reports.length} reports into ${path.relative(process.cwd(), files.json)} and ${path.relative(process.cwd(), files.markdown)}`);
    return 0;
  }
  const command = ['npm run eval:papers', ...(argv.length ? ['--', ...argv] : [])].join(' ');
  let last = '';
  const report = await runProtocols(
    names,
    {
      dataDir: values.data!,
      quick,
      repeats: Math.max(1, int('repeats', values.repeats, 1)),
      seed: int('seed', values.seed, 0),
      threads: values.threads ? int('threads', values.threads, 0) : undefined,
      variants: list(values.variants),
      epochs: values.epochs ? Math.max(1, int('epochs', values.epochs, 1)) : undefined,
      onCell: (protocol, cell) => {
        const m = cell.mean;
        console.error(`${protocol} ${cell.setting} ${cell.variant}: OA ${(100 * m.oa).toFixed(2)} kappa ${(100 * m.kappa).toFixed(2)} mIoU ${(100 * m.miou).toFixed(2)} mAcc ${(100 * m.macc).toFixed(2)} (${cell.runs.map((r) => r.seconds.toFixed(1)).join(', ')} s)`);
      },
    },
    command,
    {
      onProgress: (p) => {
        const line = `[${p.stage}] ${p.message ?? ''}`;
        if (line !== last) console.error(line);
        last = line;
      },
    },
    async (partial) => {
      await writeReport(partial, out);
    },
  );
  const files = await writeReport(report, out);
  console.log(`wrote ${path.relative(process.cwd(), files.json)} and ${path.relative(process.cwd(), files.markdown)} (${(report.seconds / 60).toFixed(1)} min)`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof FieldMoeError ? err.message : err);
      process.exit(1);
    },
  );
}
