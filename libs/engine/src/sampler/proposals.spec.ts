import { propose, reduceLogits, type TopK } from './proposals';
import { Rng } from './rng';

const dist: TopK = { ids: [7, 3, 9, 4], probs: [0.5, 0.3, 0.15, 0.05], entropy: 1.2 };
const none = new Set<number>();

describe('propose', () => {
  it('is greedy at temperature 0 and reports the model probability as confidence', () => {
    expect(propose(dist, none, { temperature: 0, top_p: 1 }, new Rng(1))).toEqual({
      token: 7,
      confidence: 0.5,
      entropy: 1.2,
    });
  });

  it('skips disallowed tokens (mask, pad, end-of-text when not allowed)', () => {
    expect(propose(dist, new Set([7]), { temperature: 0, top_p: 1 }, new Rng(1)).token).toBe(3);
  });

  it('samples reproducibly from a seed, and in proportion to the probabilities', () => {
    const draw = (seed: number): number[] => {
      const rng = new Rng(seed);
      return Array.from(
        { length: 2000 },
        () => propose(dist, none, { temperature: 1, top_p: 1 }, rng).token,
      );
    };
    expect(draw(42)).toEqual(draw(42));
    const counts = new Map<number, number>();
    for (const t of draw(42)) counts.set(t, (counts.get(t) ?? 0) + 1);
    expect(counts.get(7)! / 2000).toBeCloseTo(0.5, 1);
    expect(counts.get(4)! / 2000).toBeCloseTo(0.05, 1);
  });

  it('top_p and top_k cut the tail', () => {
    const rng = new Rng(3);
    const seen = new Set(
      Array.from(
        { length: 500 },
        () => propose(dist, none, { temperature: 1, top_p: 0.75 }, rng).token,
      ),
    );
    expect([...seen].sort()).toEqual([3, 7]);
    const seenK = new Set(
      Array.from(
        { length: 500 },
        () => propose(dist, none, { temperature: 1, top_p: 1, top_k: 1 }, rng).token,
      ),
    );
    expect([...seenK]).toEqual([7]);
  });

  it('draws exactly one random number per call, greedy or not', () => {
    const a = new Rng(5);
    const b = new Rng(5);
    propose(dist, none, { temperature: 0, top_p: 1 }, a);
    b.next();
    expect(a.next()).toBe(b.next());
  });
});

describe('reduceLogits (graphs with only logits)', () => {
  it('matches a naive softmax, top-k and entropy', () => {
    const logits = Float32Array.from([0, 1.5, -2, 3, 0.5, 3, -1, 2]);
    const r = reduceLogits(logits, 2, 6, 3); // the row [-2, 3, 0.5, 3, -1, 2]
    const row = [-2, 3, 0.5, 3, -1, 2];
    const z = row.reduce((s, x) => s + Math.exp(x), 0);
    const p = row.map((x) => Math.exp(x) / z);
    expect(r.ids).toEqual([1, 3, 5]);
    expect(r.probs[0]).toBeCloseTo(p[1]!, 6);
    expect(r.probs[2]).toBeCloseTo(p[5]!, 6);
    expect(r.entropy).toBeCloseTo(-p.reduce((s, x) => s + x * Math.log(x), 0), 6);
  });
});
