/**
 * Just enough multipart/form-data parsing for the fake: which file parts arrived, their field names,
 * file names and byte counts. The fake reads small test files, so the body is held in memory here.
 */
export interface FilePart {
  field: string;
  filename: string;
  contentType: string | undefined;
  bytes: number;
}

export function parseMultipart(body: Buffer, contentType: string | undefined): FilePart[] | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return undefined;
  const delim = Buffer.from(`--${boundary}`);
  const parts: FilePart[] = [];
  let pos = body.indexOf(delim);
  while (pos !== -1) {
    const start = pos + delim.length;
    // `--boundary--` closes the body.
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delim, start);
    if (next === -1) break;
    const part = body.subarray(start + 2, next - 2); // skip CRLF after the delimiter and before the next
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const field = /name="([^"]*)"/i.exec(headers)?.[1];
      const filename = /filename="([^"]*)"/i.exec(headers)?.[1];
      const ct = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim();
      if (field !== undefined && filename !== undefined) {
        parts.push({ field, filename, contentType: ct, bytes: part.length - headerEnd - 4 });
      }
    }
    pos = next;
  }
  return parts;
}
