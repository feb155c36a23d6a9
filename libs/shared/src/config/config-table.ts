import { configSchema, loadConfig } from './config.schema';

/**
 * The configuration reference as a Markdown table, built from the schema itself so the README
 * can never drift from what the code accepts (a test compares the two).
 */
export function configTable(): string {
  const defaults = loadConfig({}) as Record<string, unknown>;
  const lines = ['| Variable | Default | Meaning |', '| --- | --- | --- |'];
  for (const [name, schema] of Object.entries(configSchema.shape)) {
    const value = defaults[name];
    const shown =
      value === undefined
        ? '(unset)'
        : Array.isArray(value) && value.length === 0
          ? '(none)'
          : `\`${format(value)}\``;
    lines.push(`| \`${name}\` | ${shown} | ${schema.description ?? ''} |`);
  }
  return lines.join('\n');
}

function format(value: unknown): string {
  if (Array.isArray(value)) return value.map(format).join(',');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

// `npm run docs:config` prints the table for README.md.
if (require.main === module) console.log(configTable());
