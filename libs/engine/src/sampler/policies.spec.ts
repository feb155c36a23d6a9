import {
  type Candidate,
  selectEntropy,
  selectFactor,
  selectFixed,
  selectThreshold,
  uniformSchedule,
} from './policies';

const cands = (
  confidences: number[],
  entropies: number[] = confidences.map(() => 1),
): Candidate[] =>
  confidences.map((confidence, i) => ({ position: 10 + i, confidence, entropy: entropies[i]! }));
const positions = (c: Candidate[]): number[] => c.map((x) => x.position).sort((a, b) => a - b);

describe('commit policies', () => {
  describe('uniformSchedule (LLaDA)', () => {
    it('spreads tokens evenly, earlier steps taking the remainder', () => {
      expect(uniformSchedule(10, 4)).toEqual([3, 3, 2, 2]);
      expect(uniformSchedule(8, 8)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
      expect(uniformSchedule(3, 1)).toEqual([3]);
    });
  });

  describe('fixed', () => {
    it('commits the k most confident positions', () => {
      expect(positions(selectFixed(cands([0.1, 0.9, 0.5, 0.8]), 2))).toEqual([11, 13]);
    });
    it('commits at least one, and breaks ties by position', () => {
      expect(positions(selectFixed(cands([0.5, 0.5, 0.5]), 0))).toEqual([10]);
    });
  });

  describe('threshold', () => {
    it('commits every position at or above tau', () => {
      expect(positions(selectThreshold(cands([0.95, 0.2, 0.9, 0.89]), 0.9))).toEqual([10, 12]);
    });
    it('commits the best one when none reaches tau', () => {
      expect(positions(selectThreshold(cands([0.3, 0.6, 0.1]), 0.9))).toEqual([11]);
    });
  });

  describe('factor', () => {
    it('takes the largest n whose n-th best confidence is >= 1 - f/(n+1)', () => {
      // sorted: 0.99 (n=1 needs >= 0.5), 0.8 (n=2 needs >= 0.667), 0.7 (n=3 needs >= 0.75: fails), 0.2
      expect(positions(selectFactor(cands([0.7, 0.99, 0.2, 0.8]), 1))).toEqual([11, 13]);
    });
    it('a larger factor commits more', () => {
      expect(selectFactor(cands([0.7, 0.99, 0.2, 0.8]), 2).length).toBe(3); // n=3 needs >= 0.5
      expect(selectFactor(cands([0.7, 0.99, 0.2, 0.8]), 4).length).toBe(4); // n=4 needs >= 0.2
    });
    it('commits at least one even when nothing qualifies', () => {
      expect(selectFactor(cands([0.1, 0.2]), 0.01).length).toBe(1);
    });
  });

  describe('entropy (EB-sampler)', () => {
    it('takes the lowest-entropy positions while their summed entropy stays within gamma', () => {
      const c = cands([0.5, 0.5, 0.5, 0.5], [0.4, 0.05, 2.0, 0.1]);
      expect(positions(selectEntropy(c, 0.2))).toEqual([11, 13]); // 0.05 + 0.1 = 0.15; + 0.4 > 0.2
      expect(positions(selectEntropy(c, 0.6))).toEqual([10, 11, 13]);
    });
    it('commits the most certain one even when it alone exceeds gamma', () => {
      expect(positions(selectEntropy(cands([0.5, 0.5], [3, 2]), 0.1))).toEqual([11]);
    });
  });
});
