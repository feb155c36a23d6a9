import { create as contentDisposition } from 'content-disposition';

/**
 * Characters a stored file name never keeps: C0/C1 controls and DEL (CR/LF would split a header),
 * and bidirectional overrides/isolates/marks (they make `gpj.exe` read as `exe.jpg` on screen).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
const MAX_NAME_CHARS = 255;

/** The name a client gave, made safe to store and to show; `fallback` when nothing is left. */
export function cleanFileName(name: string | undefined, fallback: string): string {
  const cleaned = (name ?? '').normalize('NFC').replace(UNSAFE, '').trim();
  return cleaned ? Array.from(cleaned).slice(0, MAX_NAME_CHARS).join('') : fallback;
}

/**
 * `Content-Disposition: attachment` for a download: an ASCII-only `filename=` fallback plus the
 * RFC 5987/6266 `filename*=UTF-8''...` form. Only ASCII reaches the wire: Node would re-encode any
 * other character of a header value to one byte each, and U+010D / U+010A become raw CR / LF.
 */
export function attachmentHeader(name: string): string {
  return contentDisposition(cleanFileName(name, 'download'), { type: 'attachment' });
}
