import { type ItemOutcome, pairedDeltaCi, summarize, tokenMatches } from './metrics';
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
});

describe('summarize', () => {
  it('pools accuracy over tokens and tokens per forward over items', () => {
    const s = summarize([item(8, 8), item(4, 2)], 2000);
    expect(s).toEqual({
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
