import { describe, expect, it } from 'vitest';
import { main } from '../../../src-main/engine/cli/main';
import { parseWavelengths } from '../../../src-main/engine/cli/scene-flags';
import { getCommand, registerCommand } from '../../../src-main/engine/cli/command';
import { formatDuration, progressPrinter } from '../../../src-main/engine/cli/progress';

async function run(argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), isTTY: false, signal: new AbortController().signal });
  return { code, out, err };
}

describe('fieldmoe CLI', () => {
  it('lists the registered commands with --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\s+info\s+describe a scene/m);
    expect(r.out).toMatch(/^\s+classify\s+classify a scene/m);
    expect((await run([])).code).toBe(1);
  });

  it('prints a command usage with --help', async () => {
    const r = await run(['classify', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--ep <list>/);
    expect(r.out).toMatch(/--wavelengths id=nm,nm/);
  });

  it('turns bad flags into one-line errors with exit code 1', async () => {
    expect(await run(['classify', '--model', 'm', '--scene', 's'])).toEqual({ code: 1, out: '', err: 'error: --out: is required (see fieldmoe classify --help)\n' });
    expect((await run(['classify', '--out', 'o.tif', '--model', 'm', '--scene', 's', '--ep', 'tpu'])).err).toBe('error: --ep: unknown execution provider "tpu"; use cuda, dml, coreml, webgpu, cpu\n');
    expect((await run(['classify', '--out', 'o.tif', '--model', 'm', '--scene', 's', '--threads', '0'])).err).toBe('error: --threads: "0" must be an integer >= 1\n');
    // a negative value is the flag's value, not another flag
    expect((await run(['classify', '--out', 'o.tif', '--model', 'm', '--scene', 's', '--threads', '-2'])).err).toBe('error: --threads: "-2" must be an integer >= 1\n');
    expect((await run(['classify', '--out', 'o.tif', '--model', 'no-such-pack', '--scene', 's'])).err).toMatch(/^error: no-such-pack: no such model pack \(not a folder, and not among: .*tiny-landsat7/);
    expect((await run(['info', 'a.tif', 'b.tif'])).err).toBe('error: fieldmoe info: takes one scene, got 2: a.tif b.tif\n');
    expect((await run(['info', '/nope/scene.tif'])).err).toMatch(/^error: \/nope\/scene\.tif: .*\n$/);
  });

  it('parses --wavelengths', () => {
    expect(parseWavelengths(['h=400,500.5', 'g=700'])).toEqual(new Map([['h', [400, 500.5]], ['g', [700]]]));
    expect(() => parseWavelengths(['h=400,x'])).toThrow('--wavelengths: expected sensor=nm,nm,... with positive numbers, got "h=400,x"');
    expect(() => parseWavelengths(['400,500'])).toThrow(/^--wavelengths: expected sensor=nm/);
  });

  it('keeps commands in a registry', () => {
    expect(getCommand('classify')?.name).toBe('classify');
    expect(() => registerCommand(getCommand('info')!)).toThrow('command info is registered twice');
  });

  it('shows progress with ETA, a line per 10 % when stderr is not a terminal', () => {
    let err = '';
    const p = progressPrinter({ out: () => undefined, err: (t) => (err += t), isTTY: false, signal: new AbortController().signal });
    p.onProgress({ stage: 'classify', fraction: 0.05, etaSeconds: 95 });
    p.onProgress({ stage: 'classify', fraction: 0.07, etaSeconds: 90 });
    p.onProgress({ stage: 'classify', fraction: 0.5, etaSeconds: 3725 });
    expect(err).toBe('classify   5%  ETA 1m35s\nclassify  50%  ETA 1h02m\n');
    expect(formatDuration(7)).toBe('7s');
  });
});
