import { firstTooDeep } from './json-depth';

describe('firstTooDeep', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    expect(firstTooDeep('{"a":[1,{"b":"[[[[{{{{"}]}', 3)).toBe(-1);
    expect(firstTooDeep('{"a":[1,{"b":[]}]}', 3)).toBe(13);
    expect(firstTooDeep('"\\"[[["', 0)).toBe(-1);
    expect(firstTooDeep('[]', 0)).toBe(0);
  });

  it('scans 10 MB of [[[ without recursion and stops at the limit', () => {
    const deep = '['.repeat(5 * 2 ** 20) + ']'.repeat(5 * 2 ** 20);
    expect(firstTooDeep(deep, 64)).toBe(64);
    expect(firstTooDeep(deep, Infinity)).toBe(-1);
  });
});
