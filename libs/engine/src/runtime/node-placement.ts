/**
 * Which execution provider ran each node of a graph, read from onnxruntime's profile of one run.
 * The only way from Node to tell a GPU session that really runs on the GPU from one where
 * onnxruntime quietly assigned the nodes to the cpu.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

export interface NodePlacement {
  /** distinct graph nodes per onnxruntime provider name, e.g. { WebGpuExecutionProvider: 310 } */
  nodes: Record<string, number>;
  /** the node kinds (op types) that ran on the cpu */
  cpuOps: string[];
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  args?: { provider?: string; op_name?: string };
}

/** Counts nodes per provider in an onnxruntime profile (Chrome trace JSON). */
export function placementFromProfile(events: readonly ProfileEvent[]): NodePlacement {
  const byProvider = new Map<string, Set<string>>();
  const cpuOps = new Set<string>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.args?.provider || !e.name) continue;
    const names = byProvider.get(e.args.provider) ?? new Set<string>();
    names.add(e.name.replace(/_kernel_time$/, ''));
    byProvider.set(e.args.provider, names);
    if (e.args.provider === 'CPUExecutionProvider' && e.args.op_name) cpuOps.add(e.args.op_name);
  }
  return {
    nodes: Object.fromEntries([...byProvider].map(([p, names]) => [p, names.size])),
    cpuOps: [...cpuOps].sort(),
  };
}

/**
 * Creates a throwaway profiled session with `options`, runs `probe` on it once and reads the
 * placement from the profile. A separate session so that profiling never stays on in the one
 * that serves.
 */
export async function measureNodePlacement(
  modelPath: string,
  options: ort.InferenceSession.SessionOptions,
  probe: (session: ort.InferenceSession) => Promise<void>,
): Promise<NodePlacement> {
  const dir = mkdtempSync(join(tmpdir(), 'dllm-placement-'));
  try {
    const session = await ort.InferenceSession.create(modelPath, {
      ...options,
      enableProfiling: true,
      profileFilePrefix: join(dir, 'profile'),
    });
    try {
      await probe(session);
      session.endProfiling();
    } finally {
      await session.release();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new Error(`onnxruntime wrote no profile in ${dir}`);
    return placementFromProfile(
      JSON.parse(readFileSync(join(dir, file), 'utf8')) as ProfileEvent[],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
