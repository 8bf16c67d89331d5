/** Runs the real CLI (bin/fieldmoe.mjs) in a child process, and reads outputs with gdalinfo. */
import { execFile, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../helpers/paths';

export const BIN = path.join(REPO_ROOT, 'bin', 'fieldmoe.mjs');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

/** Starts the CLI and sends SIGINT once stderr shows `trigger`; resolves with the exit code. */
export function runCliAndInterrupt(args: string[], trigger: RegExp): Promise<CliResult & { interrupted: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!interrupted && trigger.test(stderr)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, interrupted }));
  });
}

export interface GdalInfo {
  size: [number, number];
  geoTransform?: number[];
  coordinateSystem?: { wkt: string };
  metadata?: Record<string, Record<string, string>>;
  bands: { type: string; noDataValue?: number | string; colorInterpretation?: string; colorTable?: { count: number; entries: number[][] } }[];
}

export function gdalinfo(file: string): GdalInfo {
  return JSON.parse(execFileSync('gdalinfo', ['-json', file], { encoding: 'utf8' })) as GdalInfo;
}
