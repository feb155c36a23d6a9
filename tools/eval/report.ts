import { type ItemOutcome, pairedDeltaCi, type Summary, summarize } from './metrics';
import { seededRandom } from './random';
import type { EvalSetting } from './tasks';

/** One (task, policy, setting) line of the JSON report. */
export interface ReportEntry extends Summary {
  task: string;
  policy: string;
  setting: string;
  /** accuracy minus the reference's (fixed, one token per step) on the same task, in points */
  accuracy_delta: number;
  /** 95% paired-bootstrap interval of accuracy_delta */
  accuracy_delta_ci95: [number, number];
  /** the reference's mean forwards divided by this setting's */
  forward_speedup: number;
}

export interface RunResult {
  task: string;
  setting: EvalSetting;
  outcomes: ItemOutcome[];
  wallMs: number;
}

/** The issue's target for `threshold`: >= 3 tokens per forward, infill accuracy within 1 point of the reference. */
export const TARGET = { tokensPerForward: 3, maxAccuracyDrop: 1 };

const key = (s: EvalSetting): string => `${s.policy} ${s.setting}`;

interface Pool {
  outcomes: ItemOutcome[];
  wallMs: number;
}

function withReference(task: string, s: EvalSetting, pool: Pool, ref: Pool): ReportEntry {
  const sum = summarize(pool.outcomes, pool.wallMs);
  const refSum = summarize(ref.outcomes, ref.wallMs);
  return {
    task,
    policy: s.policy,
    setting: s.setting,
    ...sum,
    accuracy_delta: sum.accuracy - refSum.accuracy,
    accuracy_delta_ci95: pairedDeltaCi(ref.outcomes, pool.outcomes, seededRandom(1)),
    forward_speedup: refSum.mean_forwards / sum.mean_forwards,
  };
}

/** Per-task entries, plus every infill task pooled ("infill-all") per setting. */
export function buildEntries(
  runs: readonly RunResult[],
  reference: EvalSetting,
): { entries: ReportEntry[]; infillAll: ReportEntry[] } {
  const refOf = (task: string): RunResult => {
    const r = runs.find((x) => x.task === task && key(x.setting) === key(reference));
    if (!r) throw new Error(`no reference run for ${task}`);
    return r;
  };
  const entries = runs.map((r) => withReference(r.task, r.setting, r, refOf(r.task)));
  // the same tasks in the same order for every setting, so pooled items stay paired with the reference's
  const pooled = (s: EvalSetting): Pool => {
    const rs = runs.filter((r) => r.task.startsWith('infill') && key(r.setting) === key(s));
    return {
      outcomes: rs.flatMap((r) => r.outcomes),
      wallMs: rs.reduce((a, r) => a + r.wallMs, 0),
    };
  };
  const settings = [...new Map(runs.map((r) => [key(r.setting), r.setting])).values()];
  const refAll = pooled(reference);
  const infillAll = settings.map((s) => withReference('infill-all', s, pooled(s), refAll));
  return { entries, infillAll };
}

export interface TargetLine {
  setting: string;
  tokens_per_forward: number;
  accuracy_delta: number;
  accuracy_delta_ci95: [number, number];
  /** point estimates meet the target */
  meets: boolean;
}

/** Threshold settings over pooled infill, each marked with whether it meets TARGET. */
export function targetCheck(infillAll: readonly ReportEntry[]): TargetLine[] {
  return infillAll
    .filter((e) => e.policy === 'threshold')
    .map((e) => ({
      setting: e.setting,
      tokens_per_forward: e.tokens_per_forward,
      accuracy_delta: e.accuracy_delta,
      accuracy_delta_ci95: e.accuracy_delta_ci95,
      meets:
        e.tokens_per_forward >= TARGET.tokensPerForward &&
        e.accuracy_delta >= -TARGET.maxAccuracyDrop,
    }));
}

/** Markdown table: per setting and task, accuracy and tokens per forward; last column pooled infill. */
export function formatTable(
  entries: readonly ReportEntry[],
  infillAll: readonly ReportEntry[],
): string {
  const tasks = [...new Set(entries.map((e) => e.task))];
  const cell = (e: ReportEntry | undefined): string =>
    e ? `${e.accuracy.toFixed(1)}% / ${e.tokens_per_forward.toFixed(2)}` : '-';
  const lines = [
    `| policy | setting | ${tasks.join(' | ')} | infill-all | infill-all Δacc [95% CI] | tok/s (infill-all) |`,
    `|---|---|${tasks.map(() => '---|').join('')}---|---|---|`,
  ];
  for (const all of infillAll) {
    const cells = tasks.map((t) =>
      cell(
        entries.find((e) => e.task === t && e.policy === all.policy && e.setting === all.setting),
      ),
    );
    const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
    const [lo, hi] = all.accuracy_delta_ci95;
    const delta = `${signed(all.accuracy_delta)} [${signed(lo)}, ${signed(hi)}]`;
    lines.push(
      `| ${all.policy} | ${all.setting} | ${cells.join(' | ')} | ${cell(all)} | ${delta} | ${all.tokens_per_s.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

/** Markdown table: per setting and task, parse rate and repeated-4-gram share (both %). */
export function formatQualityTable(entries: readonly ReportEntry[]): string {
  const tasks = [...new Set(entries.map((e) => e.task))];
  const settings = [...new Map(entries.map((e) => [`${e.policy} ${e.setting}`, e])).values()];
  const lines = [
    `| policy | setting | ${tasks.map((t) => `${t} parse / rep-4`).join(' | ')} |`,
    `|---|---|${tasks.map(() => '---|').join('')}`,
  ];
  for (const s of settings) {
    const cells = tasks.map((t) => {
      const e = entries.find(
        (x) => x.task === t && x.policy === s.policy && x.setting === s.setting,
      );
      return e ? `${e.parse_rate.toFixed(0)}% / ${e.repeated_4gram_share.toFixed(1)}%` : '-';
    });
    lines.push(`| ${s.policy} | ${s.setting} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
