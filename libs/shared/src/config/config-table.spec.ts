import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSchema } from './config.schema';
import { configTable } from './config-table';

describe('configTable', () => {
  it('lists every variable with its default and meaning', () => {
    const table = configTable();
    for (const name of Object.keys(configSchema.shape)) expect(table).toContain(`| \`${name}\` |`);
    expect(table).toContain('| `BATCH_CHUNK_SIZE` | `32` | Items per queue job');
    expect(table).toContain('| `ADMIN_API_KEY` | (unset) |');
    expect(table).toContain('| `ENGINE_EXECUTION_PROVIDERS` | `cpu` |');
  });

  it('matches the table in README.md (regenerate with `npm run docs:config`)', () => {
    const readme = readFileSync(join(__dirname, '../../../../README.md'), 'utf8');
    expect(readme).toContain(configTable());
  });
});
