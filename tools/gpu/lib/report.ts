/**
 * Merges the phases of one GPU-check run into the JSON committed under bench/results/, with a
 * summary that says plainly what ran, what did not and why, and how the GPU compares.
 */

/** The issue's target: GPU worker tokens/s at a saturating batch vs the 2-core CPU worker. */
export const SPEEDUP_TARGET = 20;

export interface PhaseStatus {
  phase: string;
  rc: number;
  seconds: number;
  timedOut: boolean;
}

interface E2eResult {
  provider: string;
  points: { batch: number; tokensPerSec: number; cache?: string }[];
}

interface DetectResult {
  host?: unknown;
  usable?: string[];
  providers?: {
    provider: string;
    ok: boolean;
    skipped?: string;
    error?: string;
    problems?: string[];
  }[];
}

interface ParityResult {
  provider: string;
  forwards?: { pass: boolean };
}

export interface ReportInputs {
  date: string;
  manifest: unknown;
  statuses: PhaseStatus[];
  /** phase name -> its JSON (absent when the phase failed) */
  phases: Record<string, unknown>;
  /** a previous run's report on the reference 2-core CPU machine, if packed */
  baseline: { source: string; report: { phases?: Record<string, unknown> } } | null;
  gpuInfo: string | null;
}

/** The best rate at the default settings (cache auto), so GPU and CPU compare like for like. */
function best(e2e: E2eResult | undefined): { tokensPerSec: number; batch: number } | null {
  const points = (e2e?.points ?? []).filter((p) => (p.cache ?? 'auto') === 'auto');
  if (!points.length) return null;
  const top = points.reduce((a, p) => (p.tokensPerSec > a.tokensPerSec ? p : a));
  return { tokensPerSec: top.tokensPerSec, batch: top.batch };
}

const ratio = (a: number | undefined, b: number | undefined): number | null =>
  a !== undefined && b ? Number((a / b).toFixed(2)) : null;

export function buildReport(inp: ReportInputs) {
  const detect = inp.phases.detect as DetectResult | undefined;
  const gpuProviders = detect?.usable ?? [];
  const notRun = (detect?.providers ?? [])
    .filter((p) => !p.ok)
    .map(
      (p) =>
        `${p.provider}: ${p.skipped ?? p.error ?? 'failed'}${p.problems?.length ? `; missing: ${p.problems.join('; ')}` : ''}`,
    );
  const e2e = (provider: string) => inp.phases[`e2e-${provider}`] as E2eResult | undefined;
  const cpuBest = best(e2e('cpu'));
  const baselineE2e = inp.baseline?.report.phases?.['e2e-cpu'] as E2eResult | undefined;
  const baselineBest = best(baselineE2e);
  const perGpu = Object.fromEntries(
    gpuProviders.map((p) => {
      const b = best(e2e(p));
      const par = inp.phases[`parity-${p}`] as ParityResult | undefined;
      return [
        p,
        {
          parityPass: par?.forwards?.pass ?? null,
          e2eBest: b,
          speedupVsThisMachineCpu: ratio(b?.tokensPerSec, cpuBest?.tokensPerSec),
          speedupVsBaseline: ratio(b?.tokensPerSec, baselineBest?.tokensPerSec),
        },
      ];
    }),
  );
  const incompletePhases = Object.entries(inp.phases)
    .filter(([, v]) => (v as { complete?: boolean } | null)?.complete === false)
    .map(([k]) => k);
  const failedPhases = inp.statuses
    .filter((s) => s.rc !== 0)
    .map((s) => `${s.phase} (${s.timedOut ? 'timed out' : `exit ${s.rc}`})`);
  const speedups = Object.values(perGpu)
    .map((g) => g.speedupVsBaseline)
    .filter((x): x is number => x !== null);
  const verdict = !detect
    ? 'detect phase failed: see statuses and run.log'
    : gpuProviders.length === 0
      ? `NO GPU PROVIDER RAN: GPU figures are missing (${notRun.map((l) => l.split(';')[0]).join('; ')}); CPU figures only`
      : `GPU providers ran: ${gpuProviders
          .map(
            (p) =>
              `${p} (parity ${perGpu[p]!.parityPass === null ? 'not measured' : perGpu[p]!.parityPass ? 'pass' : 'FAIL'}, best ${perGpu[p]!.e2eBest?.tokensPerSec ?? '?'} tok/s)`,
          )
          .join(', ')}`;
  return {
    check: 'gpu',
    date: inp.date,
    pack: inp.manifest,
    gpu: inp.gpuInfo,
    statuses: inp.statuses,
    summary: {
      verdict,
      gpuProviders,
      gpuProvidersNotRunning: notRun,
      failedPhases,
      incompletePhases,
      cpu: { e2eBest: cpuBest },
      perGpu,
      baseline: inp.baseline
        ? {
            source: inp.baseline.source,
            e2eBest: baselineBest,
            // a shared machine: how busy it was when the baseline was measured
            loadavg: (baselineE2e as { loadavg?: number[] } | undefined)?.loadavg ?? null,
          }
        : null,
      target: {
        what: `GPU worker tokens/s at a saturating batch >= ${SPEEDUP_TARGET}x the 2-core CPU worker (baseline), same bundle and settings`,
        ratio: SPEEDUP_TARGET,
        met: speedups.length ? speedups.some((x) => x >= SPEEDUP_TARGET) : null,
      },
    },
    phases: inp.phases,
  };
}
