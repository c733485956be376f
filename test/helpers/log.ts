import { Writable } from 'node:stream';

/** A stream that keeps every log line, to check what would have reached stderr. */
export function captureStream(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { stream, lines };
}
