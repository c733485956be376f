/** MIME types by file extension, as the Jogg runner does; unknown -> application/octet-stream. */
import { extname } from 'node:path';

const MIME: Record<string, string> = {
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  m4v: 'video/x-m4v',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  avi: 'video/x-msvideo',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  ogg: 'audio/ogg',
  flac: 'audio/flac',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
};

export const OCTET_STREAM = 'application/octet-stream';

/** MIME type of a file name or path by its extension (case-insensitive). */
export function mimeFor(name: string): string {
  return MIME[extname(name).slice(1).toLowerCase()] ?? OCTET_STREAM;
}
