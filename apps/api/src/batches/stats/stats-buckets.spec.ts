import { binWidth, timeBucketSeconds } from './stats-buckets';

describe('throughput buckets', () => {
  it('picks the smallest round width that keeps the bucket count within the limit', () => {
    expect(timeBucketSeconds(800, 60)).toBe(0.25);
    expect(timeBucketSeconds(20_000, 60)).toBe(0.5);
    expect(timeBucketSeconds(60_000, 60)).toBe(1);
    expect(timeBucketSeconds(61_000, 60)).toBe(2);
    expect(timeBucketSeconds(3_600_000, 60)).toBe(60);
  });

  it('never returns zero, even for an empty span', () => {
    expect(timeBucketSeconds(0, 60)).toBe(0.25);
  });

  it('falls back to whole days for very long spans', () => {
    expect(timeBucketSeconds(200 * 86_400_000, 60)).toBe(4 * 86400);
  });
});

describe('histogram bins', () => {
  it('is one per value while the values are few, wider past the limit', () => {
    expect(binWidth(3, 20, 30)).toBe(1);
    expect(binWidth(0, 29, 30)).toBe(1);
    expect(binWidth(0, 30, 30)).toBe(2);
    expect(binWidth(100, 5000, 30)).toBe(164);
  });
});
