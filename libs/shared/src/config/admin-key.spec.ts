import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, PUBLISHED_ADMIN_KEYS } from './config.schema';

const ROOT = join(__dirname, '../../../..');

/** Literal admin keys a reader of the README or the compose file could copy. */
function publishedKeys(): string[] {
  const found = new Set<string>();
  for (const file of ['README.md', 'docker-compose.yml']) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/ADMIN_API_KEY\s*[=:]\s*['"]?([^\s'"$]+)/g)) found.add(m[1]!);
    for (const m of text.matchAll(/Bearer\s+([A-Za-z0-9._~+/-]{8,})/g)) found.add(m[1]!);
  }
  return [...found];
}

describe('ADMIN_API_KEY', () => {
  it('refuses a key shorter than 32 characters', () => {
    expect(() => loadConfig({ ADMIN_API_KEY: 'x'.repeat(31) })).toThrow(/at least 32 characters/);
    expect(loadConfig({ ADMIN_API_KEY: 'x'.repeat(32) }).ADMIN_API_KEY).toHaveLength(32);
  });

  it('refuses every key printed in the README or the compose file', () => {
    const keys = [...publishedKeys(), ...PUBLISHED_ADMIN_KEYS];
    for (const key of keys)
      expect(() => loadConfig({ ADMIN_API_KEY: key })).toThrow(/ADMIN_API_KEY/);
    for (const key of PUBLISHED_ADMIN_KEYS.filter((k) => k.length >= 32))
      expect(() => loadConfig({ ADMIN_API_KEY: key })).toThrow(/printed in the README/);
  });
});
