import { z } from 'zod';

/** A duration from submission: "90s", "10m", "1.5h", "2d", "500ms". */
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** zod's own ISO 8601 check (an offset or Z is required: a deadline must name one instant) */
const ISO_TIME = z.iso.datetime({ offset: true });

export const DEADLINE_FORMAT =
  'an ISO time with offset ("2026-05-01T12:00:00Z") or a duration from submission ("90s", "10m", "2h")';

/**
 * A deadline as epoch ms: an absolute ISO time, or a duration counted from `submittedAt` (epoch ms).
 * null when the text is neither.
 */
export function parseDeadline(text: string, submittedAt: number): number | null {
  const d = DURATION.exec(text);
  if (d) return submittedAt + Number(d[1]) * UNIT_MS[d[2] as keyof typeof UNIT_MS];
  if (!ISO_TIME.safeParse(text).success) return null;
  const at = Date.parse(text);
  return Number.isFinite(at) ? at : null;
}
