/**
 * What the engine benchmarks all do around their measurement, in one place: load a bundle and its
 * tokenizer, read validation files as token ids, cut continuation windows from them, describe the
 * machine (load included: it is shared), and write the JSON report (stdout, and --json if given).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DllmTokenizer, loadModelBundle, type ModelBundle } from '@dllm/engine';
import { sampleWindows, type SourceFile, type Window } from '../../tools/eval/windows';

export interface BenchModel {
  /** absolute */
  modelDir: string;
  bundle: ModelBundle;
  tok: DllmTokenizer;
}

export function loadBenchModel(model: string): BenchModel {
  const modelDir = resolve(model);
  return {
    modelDir,
    bundle: loadModelBundle(modelDir),
    tok: DllmTokenizer.fromFile(join(modelDir, 'tokenizer.json')),
  };
}

/** Source files as the tokenizer sees them. */
export function tokenizedFiles(paths: string[], tok: DllmTokenizer): SourceFile[] {
  return paths.map((path) => ({ path, ids: tok.encode(readFileSync(path, 'utf8')) }));
}

/** `count` windows of `promptTokens` tokens followed by a `span`-token continuation (nothing after). */
export function continuationWindows(
  files: SourceFile[],
  promptTokens: number,
  span: number,
  count: number,
  seed: number,
  maxLength: number,
): Window[] {
  const shape = { before: promptTokens, span, after: 0, minBefore: promptTokens, minAfter: 0 };
  return sampleWindows(files, shape, count, seed, maxLength);
}

const round2 = (x: number): number => Number(x.toFixed(2));

/** The machine the figures came from; pass loadavg() taken at the start to report both ends. */
export function machineInfo(loadAtStart?: number[]) {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    ...(loadAtStart ? { loadavg_at_start: loadAtStart.map(round2) } : {}),
    loadavg_at_end: loadavg().map(round2),
  };
}

/** The report as JSON on stdout, and in `jsonPath` (its folder made) when given. */
export function writeReport(report: unknown, jsonPath?: string): void {
  const json = JSON.stringify(report, null, 2) + '\n';
  process.stdout.write(json);
  if (jsonPath) {
    mkdirSync(dirname(resolve(jsonPath)), { recursive: true });
    writeFileSync(jsonPath, json);
  }
}
