/**
 * `npm run train:default`: rebuilds models/default-spectralmoe and models/default-mamol from
 * ../shared/data alone (recipe in src-main/engine/training/defaults.ts), then writes each
 * pack's held-back classify accuracy, with each sensor missing in turn, into its model card.
 *
 *   tsx scripts/train-default.ts [--data <shared/data>] [--out <models dir>] [--epochs-scale f] [--cards-only]
 *
 * --cards-only skips training and rewrites the held-back section of the existing packs' cards.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openScene } from '../src-main/engine/scene/index';
import type { Scene } from '../src-main/engine/scene/types';
import { loadLabels } from '../src-main/engine/labels/index';
import { loadPack } from '../src-main/engine/packs/index';
import { loadModelPack } from '../src-main/engine/ml/models/export';
import { train, type TrainSource } from '../src-main/engine/training/train';
import { CARD_CHECKS, cardMetricKey, cardSceneLabel, DEFAULT_SEED, EOLEARN, heldOutIndices, labelsPath, NC_LANDSAT7, SEN1FLOODS11, scenePath, type LabelledScene } from '../src-main/engine/training/defaults';
import { evaluatePack } from '../src-main/engine/finetune/evaluate';
import { extendCard } from '../src-main/engine/finetune/packio';
import { MANIFEST_FILE } from '../src-main/engine/packs/index';
import { writeFileAtomic } from '../src-main/engine/util/atomic';
import type { Progress } from '../src-main/engine/jobs/job';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { data: { type: 'string' }, out: { type: 'string' }, 'epochs-scale': { type: 'string' }, 'cards-only': { type: 'boolean' } } });
const DATA = path.resolve(values.data ?? path.join(ROOT, '../shared/data'));
const OUT = path.resolve(values.out ?? path.join(ROOT, 'models'));
const SCALE = Number(values['epochs-scale'] ?? 1);
const epochs = (n: number) => Math.max(1, Math.round(n * SCALE));

const log = (line: string) => process.stderr.write(`${line}\n`);
const progress = (stage: string) => (p: Progress) => {
  if (p.stage === 'validate') log(`[${stage}] ${p.message}${p.etaSeconds !== undefined ? `  ETA ${Math.round(p.etaSeconds)}s` : ''}`);
};

async function source(s: LabelledScene, missing: string[] = []): Promise<TrainSource & { scene: Scene }> {
  return { scene: await openScene(scenePath(DATA, s), { missing }), labels: labelsPath(DATA, s) };
}

const HELD_BACK_TITLE = '## Held-back accuracy (fieldmoe classify on the validation side of the spatial split)';

/** Held-back classify accuracy with each sensor missing in turn, into the cards (replacing an earlier one). */
async function writeHeldOutCards(): Promise<void> {
  for (const pack of ['default-spectralmoe', 'default-mamol']) {
    const dir = path.join(OUT, pack);
    await dropHeldOutSection(dir);
    const lines = [HELD_BACK_TITLE, '', '| scene | missing | OA | kappa | mIoU | mAcc | pixels |', '|---|---|---|---|---|---|---|'];
    const metrics: Record<string, number> = {};
    for (const check of CARD_CHECKS.filter((c) => c.pack === pack)) {
      const scene = await openScene(scenePath(DATA, check.scene), { missing: check.missing });
      try {
        const labels = await loadLabels(labelsPath(DATA, check.scene), scene.info);
        const r = await evaluatePack(scene, await loadPack(dir), labels, { indices: heldOutIndices(labels) });
        for (const m of ['oa', 'kappa', 'miou', 'macc'] as const) metrics[cardMetricKey(check, m)] = Math.round(r[m] * 1e4) / 1e4;
        lines.push(`| ${cardSceneLabel(check)} | ${check.missing.join(', ') || 'none'} | ${r.oa.toFixed(3)} | ${r.kappa.toFixed(3)} | ${r.miou.toFixed(3)} | ${r.macc.toFixed(3)} | ${r.n} |`);
        log(`[${pack}] ${cardSceneLabel(check)} missing [${check.missing.join(',')}]: OA ${r.oa.toFixed(3)} kappa ${r.kappa.toFixed(3)}`);
      } finally {
        await scene.close();
      }
    }
    lines.push(
      '',
      "Each row is `fieldmoe classify` as it runs on any scene: every input normalised by the scene's own mean and std, as at training (eolearn's reflectance 0..1, nc-landsat7's counts 0..255 and sen1floods11's reflectance x10000 each at their own scale).",
    );
    await extendCard(dir, lines.join('\n'), metrics);
  }
}

/** Removes an earlier held-back section and its heldout.* metrics from a pack's manifest. */
async function dropHeldOutSection(dir: string): Promise<void> {
  const file = path.join(dir, MANIFEST_FILE);
  const json = JSON.parse(await fs.readFile(file, 'utf8'));
  const at = (json.card as string).indexOf(`\n\n${HELD_BACK_TITLE}`);
  if (at < 0) return;
  json.card = (json.card as string).slice(0, at);
  json.metrics = Object.fromEntries(Object.entries(json.metrics as Record<string, number>).filter(([k]) => !k.startsWith('heldout.')));
  await writeFileAtomic(file, JSON.stringify(json, null, 2) + '\n');
}

async function main(): Promise<void> {
  const started = performance.now();
  if (values['cards-only']) {
    await writeHeldOutCards();
    log(`cards rewritten in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return;
  }
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'fieldmoe-default-'));
  const backboneDir = path.join(work, 'backbone');
  const opened: Scene[] = [];
  const open = async (s: LabelledScene, missing: string[] = []) => {
    const src = await source(s, missing);
    opened.push(src.scene);
    return src;
  };
  try {
    // 1. The compact backbone, trained on the optical bands of three scenes together.
    const optical = [await open(NC_LANDSAT7), await open(EOLEARN, ['dem']), await open(SEN1FLOODS11, ['s1'])];
    let t = performance.now();
    await train({ arch: 'spectralmoe', preset: 'frozen', sources: optical, out: backboneDir, name: 'default-backbone', epochs: epochs(14), seed: DEFAULT_SEED, tilesPerClass: 40, lr: 2e-3 }, { onProgress: progress('backbone') });
    log(`backbone trained in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    const backbone = await loadModelPack(backboneDir);
    const frozen = { weights: backbone.weights, source: 'default-backbone (stage 1 of npm run train:default)' };

    // 2. default-spectralmoe: SpectralMoE adapters on the frozen backbone, with the depth branch
    // fed by eolearn's DEM (optional: the other scenes train it as w/o depth, tile by tile).
    t = performance.now();
    const withElevation = [optical[0], await open(EOLEARN), optical[2]];
    const smoeDir = path.join(OUT, 'default-spectralmoe');
    await train(
      {
        arch: 'spectralmoe', preset: 'spectralmoe', sources: withElevation, out: smoeDir, name: 'default-spectralmoe', version: '1', frozenBackbone: frozen, epochs: epochs(10), seed: DEFAULT_SEED, tilesPerClass: 40, lr: 2e-3,
        note: 'Recipe: npm run train:default (scripts/train-default.ts, src-main/engine/training/defaults.ts). Stage 1 trained the backbone (ViT + wavelength embedding + decoder, no adapters) on these scenes; stage 2 froze it and trained the SpectralMoE adapters and decoder. Depth branch: elevation (the DEM of eolearn-slovenia) through trained per-block projections, fused by cross-attention; the elevation input is optional and availability-gated, so a tile without a DEM/LiDAR sensor (nc-landsat7, sen1floods11, or a scene with its DEM marked missing) runs exactly as the w/o-depth variant of the same weights.',
      },
      { onProgress: progress('default-spectralmoe') },
    );
    log(`default-spectralmoe trained in ${((performance.now() - t) / 1000).toFixed(0)} s`);

    // 3. default-mamol: optical + SAR + elevation, any of them missing.
    t = performance.now();
    const multimodal = [await open(SEN1FLOODS11), await open(EOLEARN)];
    const mamolDir = path.join(OUT, 'default-mamol');
    await train(
      {
        arch: 'mamol', sources: multimodal, out: mamolDir, name: 'default-mamol', version: '1', frozenBackbone: frozen, epochs: epochs(12), seed: DEFAULT_SEED, tilesPerClass: 48, lr: 2e-3,
        missing: { rate: 0.5, mode: 'both' },
        note: 'Recipe: npm run train:default. The frozen ViT blocks are those of the default backbone (stage 1); modality embeddings, MaMOL experts and the dense head were trained with the missing-rate simulation (rate 0.5, each incomplete sample misses one sensor chosen uniformly).',
      },
      { onProgress: progress('default-mamol') },
    );
    log(`default-mamol trained in ${((performance.now() - t) / 1000).toFixed(0)} s`);

    // 4. Held-back classify accuracy with each sensor missing in turn, into the cards.
    await writeHeldOutCards();
    log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    for (const s of opened) await s.close();
    await fs.rm(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
