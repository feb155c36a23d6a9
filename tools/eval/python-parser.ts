import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';

/** Debian's python3: the corpus is its own standard library, so its parser is the right judge. */
export const PYTHON = process.env.DLLM_EVAL_PYTHON ?? '/usr/bin/python3';

// One request per line ({"id", "source"}), one answer per line ({"id", "ok"}): one process for a whole run.
const SERVER = `
import ast, json, sys, warnings
warnings.simplefilter("ignore")
for line in sys.stdin:
    req = json.loads(line)
    try:
        ast.parse(req["source"])
        ok = True
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        ok = False
    sys.stdout.write(json.dumps({"id": req["id"], "ok": ok}) + "\\n")
    sys.stdout.flush()
`;

/** Does a source text parse as Python (`ast.parse`)? Answers come from one long-lived python3 process. */
export class PythonParser {
  private readonly waiting = new Map<
    number,
    { resolve: (ok: boolean) => void; reject: (e: Error) => void }
  >();
  private next = 0;
  private failed?: Error;

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, null>,
    python: string,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const { id, ok } = JSON.parse(line) as { id: number; ok: boolean };
      this.waiting.get(id)?.resolve(ok);
      this.waiting.delete(id);
    });
    const fail = (why: string): void => {
      this.failed = new Error(
        `parse check: ${python} ${why}; install Debian's python3 or set DLLM_EVAL_PYTHON`,
      );
      for (const w of this.waiting.values()) w.reject(this.failed);
      this.waiting.clear();
    };
    child.on('error', (err) => fail(`cannot run (${err.message})`));
    child.on('exit', (code) => this.waiting.size && fail(`exited (code ${code})`));
  }

  static start(python = PYTHON): PythonParser {
    const child = spawn(python, ['-u', '-c', SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.on('error', () => undefined); // a dead child is reported by its own 'error'/'exit'
    return new PythonParser(child, python);
  }

  parses(source: string): Promise<boolean> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.stdin.write(JSON.stringify({ id, source }) + '\n');
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}
