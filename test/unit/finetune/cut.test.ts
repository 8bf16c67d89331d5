import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Graph, gelu, matmul, add, reduceSum, mul } from '../../../src-main/engine/ml/index';
import { buildEvalModel, type ForwardContext } from '../../../src-main/engine/ml/train/step';
import { copyCut, findFrontier, planCut } from '../../../src-main/engine/finetune/cut';

const W1 = Float32Array.from({ length: 12 }, (_, i) => ((i * 7) % 5) / 5 - 0.4);
const W2 = Float32Array.from({ length: 6 }, (_, i) => ((i * 3) % 4) / 4 - 0.3);

/** y = gelu(x W1) W2 + b with W1 frozen, W2 and b trainable; x [N, 4]. */
function model(g: Graph) {
  const x = g.input('x', 'float32', ['N', 4]);
  const w1 = g.param('w1', W1, [4, 3], { trainable: false });
  const w2 = g.param('w2', W2, [3, 2], { trainable: true });
  const b = g.param('b', Float32Array.of(0.1, -0.2), [2], { trainable: true });
  const hidden = gelu(matmul(x, w1));
  const y = add(matmul(hidden, w2), b);
  return { x, hidden, y, loss: reduceSum(mul(y, y), [0, 1], false) };
}

const X = Float32Array.from({ length: 8 }, (_, i) => i / 4 - 1);

describe('feature cache by graph cut', () => {
  it('finds the frozen features the trainable part consumes', () => {
    const g = new Graph('t');
    const m = model(g);
    const frontier = findFrontier(g, [m.loss, m.y]);
    expect(frontier).toEqual([m.hidden]);
  });

  it('finds nothing when the first operation is trainable', () => {
    const g = new Graph('t');
    const x = g.input('x', 'float32', ['N', 4]);
    const w = g.param('w', W1, [4, 3], { trainable: true });
    const y = gelu(matmul(x, w));
    expect(findFrontier(g, [y])).toEqual([]);
  });

  it('treats live inputs (targets) as never cached', () => {
    const g = new Graph('t');
    const m = model(g);
    const t = g.input('labels', 'float32', ['N', 2]);
    const loss = reduceSum(mul(add(m.y, mul(t, -1)), add(m.y, mul(t, -1))), [0, 1], false);
    expect(findFrontier(g, [loss], new Set(['labels']))).toEqual([m.hidden]);
  });

  it('the cut graph fed the prefix output gives the full graph output', async () => {
    const full = new Graph('full');
    const m = model(full);
    const cut = planCut(full, [m.y]);
    expect(cut.specs.map((s) => s.shape)).toEqual([['N', 3]]);
    const prefix = await ort.InferenceSession.create(cut.prefixModel!);
    const cached = await prefix.run({ x: new ort.Tensor('float32', X, [2, 4]) });

    const evalModel = buildEvalModel((ctx: ForwardContext) => {
      const s = new Graph('scratch');
      const sm = model(s);
      const [loss, y] = copyCut(s, [sm.loss, sm.y], findFrontier(s, [sm.loss, sm.y]), ctx);
      return { loss, outputs: { y } };
    });
    expect(evalModel.batchInputs.map((b) => b.name)).toEqual(['cache:0']);
    expect(evalModel.paramInputs.sort()).toEqual(['b', 'w2']);
    const session = await ort.InferenceSession.create(evalModel.model);
    const got = await session.run({
      'cache:0': cached['cache:0'],
      w2: new ort.Tensor('float32', W2, [3, 2]),
      b: new ort.Tensor('float32', Float32Array.of(0.1, -0.2), [2]),
    });
    const ref = await ort.InferenceSession.create(full.toModel({ outputs: [m.y] }));
    const want = await ref.run({ x: new ort.Tensor('float32', X, [2, 4]) });
    expect(Array.from(got['output:y'].data as Float32Array)).toEqual(Array.from(want[m.y.name].data as Float32Array));
  });
});
