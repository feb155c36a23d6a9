import { getMetadataArgsStorage } from 'typeorm';
import { BatchItemEntity } from './entities/batch-item.entity';
import { RESULT_COLUMNS, resultWrite } from './result-columns';

/** Postgres column types each parameter array type may land in. */
const LANDS_IN: Record<string, string[]> = {
  int: ['integer'],
  text: ['text', 'varchar'],
  float8: ['double precision'],
};

describe('RESULT_COLUMNS', () => {
  const entityColumns = new Map(
    getMetadataArgsStorage()
      .columns.filter((c) => c.target === BatchItemEntity)
      .map((c) => [c.options.name ?? c.propertyName, c]),
  );

  it.each(RESULT_COLUMNS.map((c) => [c.column, c] as const))(
    '%s is a batch_items column of a type its array fits, named after its outcome field',
    (column, spec) => {
      const entity = entityColumns.get(column);
      expect(entity).toBeDefined();
      expect(LANDS_IN[spec.type]).toContain(entity!.options.type);
      expect(entity!.propertyName).toBe(spec.field);
    },
  );

  it('lists each column once', () => {
    const names = RESULT_COLUMNS.map((c) => c.column);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('resultWrite', () => {
  it('numbers the arrays from the first placeholder, index first, in the order of the table', () => {
    const write = resultWrite([{ index: 4, status: 'completed', output: 'hi' }], 2);
    expect(write.params).toHaveLength(RESULT_COLUMNS.length + 1);
    expect(write.outcome).toMatch(/^SELECT \* FROM unnest\(\$2::int\[\], \$3::text\[\], /);
    expect(write.outcome).toContain(`$${RESULT_COLUMNS.length + 2}::int[])`);
    expect(write.outcome).toMatch(/AS o\(index, status, output, finish_reason, /);
    expect(write.params[0]).toEqual([4]);
    expect(write.params[1]).toEqual(['completed']);
    expect(write.params[2]).toEqual(['hi']);
  });

  it('turns absent fields into nulls and unstorable text into storable text', () => {
    const write = resultWrite(
      [
        { index: 0, status: 'failed', error: 'bad\u0000byte' },
        { index: 1, status: 'completed', output: 'a\u0000b', steps: 3 },
      ],
      1,
    );
    const param = (column: string) =>
      write.params[1 + RESULT_COLUMNS.findIndex((c) => c.column === column)];
    expect(param('error')).toEqual(['bad\ufffdbyte', null]);
    expect(param('output')).toEqual([null, 'a\ufffdb']);
    expect(param('steps')).toEqual([null, 3]);
  });

  it('keeps what the row holds only for the columns marked so', () => {
    const { set } = resultWrite([], 1);
    expect(set).toContain('prompt_tokens = coalesce(o.prompt_tokens, i.prompt_tokens)');
    expect(set).toContain('worker_id = coalesce(o.worker_id, i.worker_id)');
    expect(set).toContain('output = o.output');
    expect(set).not.toContain('coalesce(o.output');
  });
});
