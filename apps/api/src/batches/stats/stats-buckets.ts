/** Bucket widths (seconds) a throughput chart may use: round numbers a reader can take in. */
const NICE_WIDTHS_S = [
  0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400,
];

/** The smallest round width that splits `spanMs` into at most `maxBuckets` buckets. */
export function timeBucketSeconds(spanMs: number, maxBuckets: number): number {
  const span = Math.max(spanMs, 1) / 1000;
  for (const width of NICE_WIDTHS_S) if (span / width <= maxBuckets) return width;
  return Math.ceil(span / maxBuckets / 86400) * 86400;
}

/**
 * Width of histogram bins over whole numbers in [min, max]: 1 when there are few distinct values
 * (forwards per item often span a handful), otherwise the width that gives at most `maxBins` bins.
 */
export function binWidth(min: number, max: number, maxBins: number): number {
  const range = max - min + 1;
  return range <= maxBins ? 1 : Math.ceil(range / maxBins);
}
