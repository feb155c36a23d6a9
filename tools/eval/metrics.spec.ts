import { type ItemOutcome, pairedDeltaCi, summarize, tokenMatches, wilson } from './metrics';
import { seededRandom } from './random';

describe('tokenMatches (exact-token accuracy)', () => {
  it('counts position-wise equal ids over the reference length', () => {
    expect(tokenMatches([5, 6, 7, 8], [5, 6, 7, 8])).toBe(4);
    expect(tokenMatches([5, 9, 7, 8], [5, 6, 7, 8])).toBe(3);
  });

  it('counts a shifted output as wrong from the shift on', () => {
    expect(tokenMatches([5, 0, 6, 7], [5, 6, 7, 8])).toBe(1);
  });

  it('counts missing positions as wrong and ignores extra ones', () => {
    expect(tokenMatches([5, 6], [5, 6, 7, 8])).toBe(2);
    expect(tokenMatches([5, 6, 7, 8, 9, 10], [5, 6, 7, 8])).toBe(4);
  });
});

const item = (matches: number, forwards: number): ItemOutcome => ({
  matches,
  referenceTokens: 8,
  exact: matches === 8,
  forwards,
  generatedTokens: 8,
  parses: matches > 4,
  repeated4: 8 - matches,
  fourGrams: 5,
});

describe('summarize', () => {
  it('pools accuracy over tokens and tokens per forward over items', () => {
    const s = summarize([item(8, 8), item(4, 2)], 2000);
    expect(s).toMatchObject({
      items: 2,
      accuracy: 75,
      exact_match: 50,
      mean_forwards: 5,
      tokens_per_forward: 1.6,
      tokens_per_s: 8,
      wall_s: 2,
    });
  });
});

describe('pairedDeltaCi', () => {
  it('is a point when every item changes by the same amount', () => {
    const a = [item(4, 8), item(6, 8), item(2, 8)];
    const b = a.map((o) => item(o.matches + 2, 2));
    expect(pairedDeltaCi(a, b, seededRandom(1), 200)).toEqual([25, 25]);
  });

  it('brackets the observed delta', () => {
    const a = Array.from({ length: 40 }, (_, i) => item(i % 9, 8));
    const b = Array.from({ length: 40 }, (_, i) => item((i * 7) % 9, 8));
    const [lo, hi] = pairedDeltaCi(a, b, seededRandom(2));
    const delta = summarize(b, 1).accuracy - summarize(a, 1).accuracy;
    expect(lo).toBeLessThanOrEqual(delta);
    expect(hi).toBeGreaterThanOrEqual(delta);
  });
});

describe('code quality in the summary', () => {
  it('reports the parse rate over items with a Wilson interval, and repeated 4-grams over all 4-grams', () => {
    const s = summarize([item(8, 8), item(4, 2)], 1000);
    expect(s.parse_rate).toBe(50);
    expect(s.parse_rate_ci95).toEqual(wilson(1, 2));
    expect(s.repeated_4gram_share).toBeCloseTo((100 * 4) / 10);
  });

  it('wilson gives a sensible interval', () => {
    const [lo, hi] = wilson(30, 100);
    expect(lo).toBeCloseTo(21.9, 1);
    expect(hi).toBeCloseTo(39.6, 1);
    expect(wilson(0, 0)).toEqual([0, 100]);
  });
});
