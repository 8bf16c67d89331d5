import { encodeModel, type AttributeValue, type Dim, type NodeData, type TensorData, type ValueInfoData } from './proto';
import { dtypeOfArray, typedArray, type AnyTypedArray, type DType } from './dtype';
import { getOp } from './registry';

export type { Dim } from './proto';
export type Shape = readonly Dim[];

/** Where a value comes from: a graph input, a parameter (weight), a constant, or a node output. */
export type ValueKind = 'input' | 'param' | 'constant' | 'node';

/** A tensor in the graph under construction, with static dtype and (possibly symbolic) shape. */
export class Value {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly kind: ValueKind,
    /** The node that produces it, for kind 'node'. */
    readonly producer?: Node,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}<${this.dtype}[${this.shape.join(',')}]>`;
  }
}

export class Node {
  outputs: Value[] = [];
  constructor(
    readonly name: string,
    readonly opType: string,
    /** Inputs; `undefined` stands for an omitted optional input (ONNX's empty name). */
    readonly inputs: readonly (Value | undefined)[],
    readonly attributes: Readonly<Record<string, AttributeValue>>,
  ) {}

  /** An attribute's value, or `fallback` when the node does not set it. */
  attr<T extends number | string | readonly number[] | readonly string[]>(key: string, fallback?: T): T {
    const a = this.attributes[key];
    if (!a) {
      if (fallback === undefined) throw new Error(`${this.opType} node ${this.name} has no attribute ${key}`);
      return fallback;
    }
    if (a.kind === 'tensor') throw new Error(`attribute ${key} is a tensor`);
    return a.value as T;
  }
}

/** Attribute constructors: ONNX distinguishes int from float, JavaScript numbers do not. */
export const attr = {
  f: (value: number): AttributeValue => ({ kind: 'float', value }),
  i: (value: number): AttributeValue => ({ kind: 'int', value }),
  s: (value: string): AttributeValue => ({ kind: 'string', value }),
  floats: (value: readonly number[]): AttributeValue => ({ kind: 'floats', value }),
  ints: (value: readonly number[]): AttributeValue => ({ kind: 'ints', value }),
  strings: (value: readonly string[]): AttributeValue => ({ kind: 'strings', value }),
  tensor: (value: TensorData): AttributeValue => ({ kind: 'tensor', value }),
};

export interface Param {
  value: Value;
  data: AnyTypedArray;
  trainable: boolean;
}

export interface ExportOptions {
  outputs: readonly (Value | [string, Value])[];
  /** Parameters emitted as graph inputs instead of initializers (trainable ones in a train step). */
  paramsAsInputs?: ReadonlySet<string>;
  /** Extra graph inputs (beyond those the outputs need) to keep, e.g. for a stable signature. */
  keepInputs?: readonly Value[];
  metadata?: Record<string, string>;
}

/**
 * Builds an ONNX graph in TypeScript. Every op is defined once in the registry (shape inference
 * plus its gradient rule), so a graph built here can be differentiated by `ml/autodiff` and
 * emitted as a ModelProto that any onnxruntime execution provider runs.
 */
export class Graph {
  readonly inputs: Value[] = [];
  readonly params = new Map<string, Param>();
  readonly constants = new Map<string, { value: Value; data: AnyTypedArray }>();
  readonly nodes: Node[] = [];
  private readonly usedNames = new Set<string>();
  private readonly scalarCache = new Map<string, Value>();
  private scopeStack: string[] = [];
  private counter = 0;
  private readonly lowerings = new Map<Node, { outputs: Value[]; nodes: Node[] }>();

  constructor(
    readonly name = 'fieldmoe',
    readonly opset = 18,
  ) {}

  // ---- naming --------------------------------------------------------------------------------

  /** Runs `build` with `prefix` added to parameter names: `g.scope('blocks.3', ...)` -> `blocks.3.x`. */
  scope<T>(prefix: string | number, build: () => T): T {
    this.scopeStack.push(String(prefix));
    try {
      return build();
    } finally {
      this.scopeStack.pop();
    }
  }

  /** The hierarchical name of `local` in the current scope. */
  scopedName(local: string): string {
    return [...this.scopeStack, local].join('.');
  }

  private unique(base: string): string {
    let name = base;
    while (this.usedNames.has(name)) name = `${base}_${++this.counter}`;
    this.usedNames.add(name);
    return name;
  }

  // ---- leaves --------------------------------------------------------------------------------

  input(name: string, dtype: DType, shape: Shape): Value {
    if (this.usedNames.has(name)) throw new Error(`graph input name ${name} is already used`);
    this.usedNames.add(name);
    const v = new Value(this, name, dtype, shape, 'input');
    this.inputs.push(v);
    return v;
  }

  /** A named weight; its name is scoped and must be unique (stable names make checkpoints portable). */
  param(local: string, data: AnyTypedArray, shape: readonly number[], options: { trainable?: boolean } = {}): Value {
    const name = this.scopedName(local);
    if (this.params.has(name) || this.usedNames.has(name)) throw new Error(`parameter ${name} is defined twice`);
    checkSize(name, data, shape);
    this.usedNames.add(name);
    const value = new Value(this, name, dtypeOfArray(data), shape, 'param');
    this.params.set(name, { value, data, trainable: options.trainable ?? true });
    return value;
  }

  /** A constant tensor (an initializer that is never trained). */
  constant(data: AnyTypedArray, shape: readonly number[], hint = 'const'): Value {
    const name = this.unique(`${hint}`);
    checkSize(name, data, shape);
    const value = new Value(this, name, dtypeOfArray(data), shape, 'constant');
    this.constants.set(name, { value, data });
    return value;
  }

  /** A rank-0 constant, shared between all uses of the same number and dtype. */
  scalar(x: number, dtype: DType): Value {
    const key = `${dtype}:${Object.is(x, -0) ? '-0' : x}`;
    let v = this.scalarCache.get(key);
    if (!v) {
      v = this.constant(typedArray(dtype, [x]), [], `scalar_${dtype}`);
      this.scalarCache.set(key, v);
    }
    return v;
  }

  /** An int64 vector constant (shapes, axes, slice bounds). */
  ints(values: readonly number[], hint = 'ints'): Value {
    return this.constant(typedArray('int64', values), [values.length], hint);
  }

  // ---- nodes ---------------------------------------------------------------------------------

  /**
   * Adds one node of a registered op and returns its outputs. Shapes and dtypes of the outputs
   * come from the op's `infer`, so every value in the graph has a static type.
   */
  op(opType: string, inputs: readonly (Value | undefined)[], attributes: Record<string, AttributeValue> = {}, hint?: string): Value[] {
    const def = getOp(opType);
    for (const v of inputs)
      if (v && v.graph !== this) throw new Error(`${opType}: input ${v.name} belongs to another graph`);
    const nodeName = this.unique(hint ? `${hint}/${opType}` : opType);
    const node = new Node(nodeName, opType, inputs, attributes);
    const types = def.infer(inputs, node);
    node.outputs = types.map((t, k) => new Value(this, this.unique(`${nodeName}:${k}`), t.dtype, t.shape, 'node', node));
    this.nodes.push(node);
    return node.outputs;
  }

  /** `op` for single-output ops. */
  op1(opType: string, inputs: readonly (Value | undefined)[], attributes: Record<string, AttributeValue> = {}, hint?: string): Value {
    return this.op(opType, inputs, attributes, hint)[0];
  }

  // ---- export --------------------------------------------------------------------------------

  /**
   * The float64 decomposition of `n` (see OpDef.lowerFloat64), built once and cached, or
   * undefined when `n` is emitted as itself. Its nodes are appended to the graph but are only
   * reachable from the export, so autodiff never sees them.
   */
  private lowered(n: Node): { outputs: Value[]; nodes: Node[] } | undefined {
    const def = getOp(n.opType);
    if (!def.lowerFloat64 || !n.outputs.some((o) => o.dtype === 'float64')) return undefined;
    let l = this.lowerings.get(n);
    if (!l) {
      const start = this.nodes.length;
      const outputs = def.lowerFloat64(this, n);
      const fresh = new Set(this.nodes.slice(start));
      l = { outputs, nodes: this.reachableNodes(outputs).filter((m) => fresh.has(m)) };
      this.lowerings.set(n, l);
    }
    return l;
  }

  /** The nodes needed for `outputs`, in the order they were built (a valid topological order). */
  reachableNodes(outputs: readonly Value[]): Node[] {
    const needed = new Set<Node>();
    const stack = outputs.map((o) => o.producer).filter((n): n is Node => !!n);
    while (stack.length) {
      const n = stack.pop()!;
      if (needed.has(n)) continue;
      needed.add(n);
      for (const i of n.inputs) if (i?.producer) stack.push(i.producer);
    }
    return this.nodes.filter((n) => needed.has(n));
  }

  /** Encodes the subgraph that computes `outputs` as ONNX ModelProto bytes. */
  toModel(options: ExportOptions): Uint8Array {
    const named = options.outputs.map((o) => (Array.isArray(o) ? o : [o.name, o] as [string, Value]));
    const used = new Set<Value>();
    const nodeData: NodeData[] = [];
    const emit = (n: Node): void => {
      const lowered = this.lowered(n);
      if (lowered) {
        for (const m of lowered.nodes) emit(m);
        lowered.outputs.forEach((v, k) => {
          used.add(v);
          nodeData.push({ name: `${n.name}/lowered:${k}`, opType: 'Identity', inputs: [v.name], outputs: [n.outputs[k].name], attributes: {} });
        });
        return;
      }
      for (const i of n.inputs) if (i) used.add(i);
      nodeData.push({
        name: n.name,
        opType: n.opType,
        domain: getOp(n.opType).domain,
        inputs: n.inputs.map((i) => i?.name ?? ''),
        outputs: n.outputs.map((o) => o.name),
        attributes: n.attributes,
      });
    };
    for (const n of this.reachableNodes(named.map(([, v]) => v))) emit(n);
    for (const [, v] of named) used.add(v);
    for (const v of options.keepInputs ?? []) used.add(v);

    // Outputs that need another name, or that are leaves, get an Identity node.
    const outputs: ValueInfoData[] = [];
    for (const [name, v] of named) {
      if (name !== v.name || v.kind !== 'node') nodeData.push({ name: `output/${name}`, opType: 'Identity', inputs: [v.name], outputs: [name], attributes: {} });
      outputs.push({ name, dtype: v.dtype, shape: v.shape });
    }

    const asInputs = options.paramsAsInputs ?? new Set<string>();
    for (const name of asInputs) if (!this.params.has(name)) throw new Error(`paramsAsInputs names unknown parameter ${name}`);
    const inputs: ValueInfoData[] = [];
    const initializers: TensorData[] = [];
    for (const v of this.inputs) if (used.has(v)) inputs.push({ name: v.name, dtype: v.dtype, shape: v.shape });
    for (const [name, p] of this.params) {
      if (!used.has(p.value)) continue;
      if (asInputs.has(name)) inputs.push({ name, dtype: p.value.dtype, shape: p.value.shape });
      else initializers.push({ name, dtype: p.value.dtype, dims: p.value.shape as number[], data: p.data });
    }
    for (const [name, c] of this.constants)
      if (used.has(c.value)) initializers.push({ name, dtype: c.value.dtype, dims: c.value.shape as number[], data: c.data });

    return encodeModel({
      graphName: this.name,
      opset: this.opset,
      producer: 'fieldmoe',
      nodes: nodeData,
      initializers,
      inputs,
      outputs,
      metadata: options.metadata ?? {},
    });
  }
}

function checkSize(name: string, data: AnyTypedArray, shape: readonly number[]): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`${name}: shape [${shape.join(',')}] needs ${n} values, got ${data.length}`);
}
