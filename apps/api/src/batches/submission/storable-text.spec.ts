import { unstorableStrings } from './storable-text';

describe('unstorableStrings', () => {
  it('finds bad values and field names in document order, with their paths', () => {
    const found: { field: string; message: string }[] = [];
    unstorableStrings({ a: ['ok', '\u0000'], '\ud800': 'v', b: { c: '\udfff' } }, 'body', found);
    expect(found.map((p) => p.field)).toEqual(['body.a.1', 'body.\ud800', 'body.b.c']);
    expect(found[1]!.message).toMatch(/^the field name/);
  });

  it('walks 50,000 levels without recursion', () => {
    let deep: unknown = '\u0000';
    for (let i = 0; i < 50_000; i++) deep = [deep];
    const found: { field: string; message: string }[] = [];
    unstorableStrings(deep, '', found);
    expect(found).toHaveLength(1);
  });
});
