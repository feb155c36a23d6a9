import { Writable } from 'node:stream';
import { createProcessLogger, type LoggingService } from './process-logger';

function firstLine(service: LoggingService): Record<string, unknown> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  createProcessLogger(service, 'info', sink).info({ batch_id: 'b1' }, 'hello');
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

describe('createProcessLogger', () => {
  it('writes time as an ISO-8601 UTC string for the API and the worker alike', () => {
    const api = firstLine('api');
    const worker = firstLine('worker');
    for (const line of [api, worker]) {
      expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Math.abs(Date.parse(line.time as string) - Date.now())).toBeLessThan(60_000);
      expect(line).toMatchObject({ msg: 'hello', batch_id: 'b1', level: 30 });
    }
    expect(api.service).toBe('api');
    expect(worker.service).toBe('worker');
    expect(Object.keys(api).sort()).toEqual(Object.keys(worker).sort());
  });
});
