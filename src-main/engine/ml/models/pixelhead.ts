/**
 * The pixel head: a per-pixel MLP on the raw input spectra whose class logits are added to the
 * model's dense logits (our extension, used by few-shot fine-tuning). The ViT sees a tile
 * through 4x4-pixel tokens and upsamples its class map; with a few dozen labels per class the
 * adapters cannot learn fine spectral distinctions from that, while a pixel classifier can
 * (this is what a random forest on the labelled spectra does). With this head the adapted model
 * is at least a pixel classifier plus the backbone's spatial context.
 *
 * Per input x [B, C, H, W]: z = (x - shift) * scale per band (parameters initialised from the
 * scene by fine-tuning, so that every band enters at unit scale whatever its range), zeroed
 * where the input is missing (availability m_i, as the dummy of MaMOL eq. 3). Then
 * h = GELU(sum_i W_i z_i + U m + b), logits = V h + c, V zero-initialised so the head starts
 * as the identity on the model's output. All products are 1x1 convolutions written as
 * [hidden, C] x [B, C, H W] matmuls (no transposes). Params `pixel_head.*`.
 */
import type { Graph, Value } from '../graph/graph';
import { add, gelu, matmul, mul, reduceMean, reshape, slice, sub, unsqueeze } from '../ops/index';
import { init, type ParamSource } from './init';

export interface PixelHeadConfig {
  /** Width of the hidden layer; 0: linear (logits = sum_i V_i z_i + U m + c). */
  hidden: number;
  /**
   * The graph inputs it reads (fixed band counts), in order. `relative`: the input enters as its
   * deviation from the tile's mean per band (elevation: height above the surroundings, which
   * transfers across a scene where absolute elevation does not).
   */
  inputs: readonly { name: string; bands: number; relative?: boolean }[];
}

export interface PixelHeadInput {
  /** [B, bands, H, W]. */
  x: Value;
  /** [B, 1] availability of this input (1 present, 0 missing), or undefined (always present). */
  available?: Value;
}

/** Per-band standardisation of input `name` (z = (x - shift) scale): `pixel_head.<name>.norm.*`, [1, C, 1, 1]. */
export const pixelHeadStatNames = (name: string) => ({ shift: `pixel_head.${name}.norm.shift`, scale: `pixel_head.${name}.norm.scale` });

/**
 * Per-pixel logits [B, classes, H, W] of `inputs` (in `cfg.inputs` order). `available` [B, M]
 * (the model's availability input, columns in input order) feeds U m when given.
 */
export function pixelHead(g: Graph, src: ParamSource, cfg: PixelHeadConfig, inputs: readonly PixelHeadInput[], classes: number, available?: Value): Value {
  if (inputs.length !== cfg.inputs.length) throw new Error(`pixel head: ${inputs.length} inputs for ${cfg.inputs.length} configured`);
  return g.scope('pixel_head', () => {
    const [h, w] = [inputs[0].x.shape[2] as number, inputs[0].x.shape[3] as number];
    const linearOnly = cfg.hidden === 0;
    const width = linearOnly ? classes : cfg.hidden;
    const hidden = cfg.inputs
      .map((spec, i) => g.scope(spec.name, () => bandProjection(g, src, spec.relative ? { ...inputs[i], x: sub(inputs[i].x, reduceMean(inputs[i].x, [2, 3], true)) } : inputs[i], spec.bands, width, h * w, linearOnly)))
      .reduce((a, b) => add(a, b));
    const bias = src.param(g, linearOnly ? 'out.bias' : 'hidden.bias', [width, 1], init.zeros);
    let pre = add(hidden, bias);
    if (available) {
      // U stored [M, hidden] so that m U is one product: [B, hidden] -> [B, hidden, 1]
      const u = src.param(g, 'available.weight', [available.shape[1] as number, width], init.zeros);
      pre = add(pre, unsqueeze(matmul(available, u), [2]));
    }
    if (linearOnly) return reshape(pre, [0, classes, h, w]);
    const v = src.param(g, 'out.weight', [classes, cfg.hidden], init.zeros);
    const c = src.param(g, 'out.bias', [classes, 1], init.zeros);
    return reshape(add(matmul(v, gelu(pre)), c), [0, classes, h, w]);
  });
}

/**
 * W z for one input, [B, hidden, H W]: standardised bands, zeroed where missing, projected. The
 * standardisation is trainable (initialised from the scene by fine-tuning) and is the first
 * operation on the raw input, so training's feature cache (finetune/cut.ts) never stores a copy
 * of the input: it stays a live input, however many bands it has.
 */
function bandProjection(g: Graph, src: ParamSource, inp: PixelHeadInput, bands: number, hidden: number, pixels: number, zeroInit: boolean): Value {
  const shift = src.param(g, 'norm.shift', [1, bands, 1, 1], init.zeros);
  const scale = src.param(g, 'norm.scale', [1, bands, 1, 1], init.ones);
  const z = reshape(mul(sub(inp.x, shift), scale), [0, bands, pixels]);
  const weight = src.param(g, 'weight', [hidden, bands], zeroInit ? init.zeros : init.kaimingUniform);
  const projected = matmul(weight, z);
  return inp.available ? mul(projected, unsqueeze(inp.available, [2])) : projected;
}

/** Column `i` of an availability input [B, M] as [B, 1]. */
export function availabilityColumn(available: Value, i: number): Value {
  return slice(available, [i], [i + 1], [1]);
}
