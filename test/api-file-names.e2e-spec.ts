import { connect } from 'node:net';
import type { Server } from 'node:http';
import { ApiHarness } from './support/api-harness';
import { listenOnFreePort } from './support/ports';

/**
 * An uploaded file's name is a tenant's text that ends up in a response header. It must never
 * split that response: the name is decoded as UTF-8, stripped of controls and bidi overrides at
 * upload, and written to `Content-Disposition` as an ASCII fallback plus RFC 5987 `filename*=`.
 * The attack is checked on the wire: raw bytes over one keep-alive socket, responses counted.
 */

jest.setTimeout(60_000);

let api: ApiHarness;
let key = '';
let port = 0;

beforeAll(async () => {
  api = await ApiHarness.start({ RATE_LIMIT_REQUESTS: '0', MAX_CONCURRENT_UPLOADS: '0' });
  key = await api.keyFor('names');
  const server = api.app.getHttpServer() as Server;
  port = await listenOnFreePort(server);
});

afterAll(async () => {
  await api?.close();
});

const LINE = '{"custom_id":"a","method":"POST","url":"/v1/completions","body":{"prompt":"x"}}\n';

/** A multipart upload whose file part carries `disposition` verbatim (raw bytes, any encoding). */
function multipart(disposition: Buffer): Buffer {
  const b = 'XBOUNDARYX';
  const body = Buffer.concat([
    Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n`),
    Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="file"; `),
    disposition,
    Buffer.from(`\r\nContent-Type: application/jsonl\r\n\r\n${LINE}\r\n--${b}--\r\n`),
  ]);
  const head =
    `POST /v1/files HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${key}\r\n` +
    `Content-Type: multipart/form-data; boundary=${b}\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}

/** Writes `bytes` on one connection and collects everything until `idleMs` of silence or close. */
function exchange(bytes: Buffer, idleMs = 1500): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer = setTimeout(() => socket.end(), idleMs * 4);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      clearTimeout(timer);
      timer = setTimeout(() => socket.end(), idleMs);
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.write(bytes);
  });
}

async function uploadRaw(disposition: Buffer): Promise<{ id: string; filename: string }> {
  const answer = (await exchange(multipart(disposition))).toString('utf8');
  expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  return JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as {
    id: string;
    filename: string;
  };
}

/** Two GETs of the file's content pipelined on one keep-alive connection, answered as raw text. */
async function downloadTwiceOnOneConnection(id: string): Promise<string> {
  const get = `GET /v1/files/${id}/content HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n\r\n`;
  const bytes = await exchange(Buffer.from(get + get));
  return bytes.toString('latin1');
}

// An injected header, a blank line ending the real headers, then a whole forged response.
const SMUGGLED =
  '\r\nX-Injected: yes\r\nContent-Length: 0\r\n\r\n' +
  'HTTP/1.1 200 OK\r\nX-Forged: yes\r\nContent-Length: 6\r\n\r\nforged';
/** The same text with CR and LF shifted to U+010D and U+010A: Node writes their low bytes. */
const SHIFTED = `a${SMUGGLED.replace(/\r/g, '\u010d').replace(/\n/g, '\u010a')}.jsonl`;

describe('a file name that tries to split the download response', () => {
  for (const [how, disposition] of [
    [
      'as RFC 5987 filename*= (UTF-8, percent-encoded)',
      Buffer.from(`filename*=UTF-8''${encodeURIComponent(SHIFTED)}`),
    ],
    ['as raw UTF-8 bytes in filename=', Buffer.from(`filename="${SHIFTED}"`, 'utf8')],
  ] as [string, Buffer][]) {
    it(`${how}: one response per request on the connection, no injected header`, async () => {
      const file = await uploadRaw(disposition);
      const wire = await downloadTwiceOnOneConnection(file.id);
      const statusLines = wire.match(/^HTTP\/1\.1 \d{3} /gm) ?? [];
      expect(statusLines).toEqual(['HTTP/1.1 200 ', 'HTTP/1.1 200 ']);
      expect(wire).not.toMatch(/^X-Injected|^X-Forged/im);
      const disposition0 = /^Content-Disposition: (.*)\r$/im.exec(wire)?.[1] ?? '';
      expect(disposition0).toMatch(/^[\x20-\x7e]+$/); // only ASCII on the wire
      expect(disposition0).toContain("filename*=UTF-8''");
      expect(wire.split(LINE).length - 1).toBe(2); // both bodies intact
    });
  }
});

describe('file names at upload', () => {
  it('decodes a UTF-8 name as UTF-8 and gives it back in filename*=', async () => {
    const name = 'données-čšž-日本.jsonl';
    const file = await uploadRaw(Buffer.from(`filename="${name}"`, 'utf8'));
    expect(file.filename).toBe(name);
    const res = await api.http
      .get(`/v1/files/${file.id}/content`)
      .set('Authorization', `Bearer ${key}`)
      .expect(200);
    const header = res.headers['content-disposition'] as string;
    expect(header).toBe(
      `attachment; filename="donn?es-???-??.jsonl"; filename*=UTF-8''${encodeURIComponent(name)}`,
    );
  });

  it('strips control characters and bidi overrides from the stored name', async () => {
    const name = 'inv\u202eoice\u2066\u200f\u0007\u009b.lmth\u202c.jsonl';
    const file = await uploadRaw(Buffer.from(`filename*=UTF-8''${encodeURIComponent(name)}`));
    expect(file.filename).toBe('invoice.lmth.jsonl');
  });

  it('keeps a default name when nothing is left', async () => {
    const file = await uploadRaw(
      Buffer.from(`filename*=UTF-8''${encodeURIComponent('\u202e\r\n')}`),
    );
    expect(file.filename).toBe('upload.jsonl');
  });
});
