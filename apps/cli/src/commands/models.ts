import { Command } from 'commander';
import { EXIT } from '../exit-codes';
import { clientOf, exiting, out } from './context';

interface ModelRow {
  id: string;
  default?: boolean;
  kind?: string;
  family?: string | null;
  max_length?: number;
  chat_template?: string;
}

/** `dllm models`: the models the deployment serves (GET /v1/models), the default marked. */
export function modelsCommand(): Command {
  return new Command('models')
    .description('the models this deployment serves (a batch picks one with --model)')
    .option('--json', 'print the list as JSON')
    .action(
      exiting(async (opts: { json?: boolean }, cmd: Command) => {
        const { body } = await clientOf(cmd).json<{ data: ModelRow[] }>('GET', '/v1/models');
        if (opts.json) {
          out(JSON.stringify(body.data, null, 2));
          return EXIT.ok;
        }
        const rows = body.data.map((m) => [
          `${m.id}${m.default ? ' (default)' : ''}`,
          m.kind ?? '-',
          m.family ?? '-',
          String(m.max_length ?? '-'),
          m.chat_template ?? '-',
        ]);
        const header = ['MODEL', 'KIND', 'FAMILY', 'MAX LENGTH', 'CHAT'];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        out(
          [header, ...rows]
            .map((r) =>
              r
                .map((c, i) => c.padEnd(widths[i]!))
                .join('  ')
                .trimEnd(),
            )
            .join('\n'),
        );
        return EXIT.ok;
      }),
    );
}
