/**
 * What the Jogg fake refuses, the way Jogg refuses it (providers.md section 1): API calls answer an
 * envelope code on HTTP 200 (40000 parameter error); the signed storage URL is an object store and
 * answers 403 to a PUT its signature does not cover (another content type, an id it never issued).
 * Kept apart from the routes so fault switches added to index.ts merge without touching these rules.
 */
import { extname } from 'node:path';

/** The official runner's MIME table (providers.md): the content type an upload must declare. */
const MIME: Record<string, string> = {
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  m4v: 'video/x-m4v',
  webm: 'video/webm',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  ogg: 'audio/ogg',
};

export function runnerMime(filename: string): string {
  return MIME[extname(filename).slice(1).toLowerCase()] ?? 'application/octet-stream';
}

export const PLAYBACK_TYPES = ['normal', 'normal_reverse', 'normal_reverse_by_audio'];

/** An asset the fake signed an upload for. */
export interface SignedAsset {
  filename: string;
  contentType: string;
  sig: string;
  uploaded: boolean;
}

/** A refusal: `status` HTTP with an envelope `code` (API calls) or a storage error text (signed PUT). */
export type Refusal = { kind: 'envelope'; code: number; msg: string } | { kind: 'storage'; msg: string };

const param = (msg: string): Refusal => ({ kind: 'envelope', code: 40000, msg });

/** `POST /v2/upload/asset`: filename and a content type that matches its extension. */
export function checkUploadRequest(body: unknown): Refusal | undefined {
  const b = body as { filename?: unknown; content_type?: unknown; file_size?: unknown } | undefined;
  if (typeof b?.filename !== 'string' || !b.filename || typeof b.content_type !== 'string')
    return param('filename and content_type are required');
  if (b.content_type !== runnerMime(b.filename))
    return param(`content_type ${b.content_type} does not match ${b.filename}`);
  if (b.file_size !== undefined && (typeof b.file_size !== 'number' || b.file_size < 0))
    return param('file_size must be a non-negative number');
  return undefined;
}

/** `PUT sign_url`: an id the fake signed, its signature, and exactly the declared content type. */
export function checkSignedPut(
  asset: SignedAsset | undefined,
  sig: string | null,
  contentType: string | undefined,
): Refusal | undefined {
  if (!asset || sig !== asset.sig)
    return { kind: 'storage', msg: 'SignatureDoesNotMatch: no such signed upload' };
  if (contentType !== asset.contentType)
    return {
      kind: 'storage',
      msg: `SignatureDoesNotMatch: signed for ${asset.contentType}, got ${contentType ?? 'no Content-Type'}`,
    };
  return undefined;
}

/** `GET /v2/lip_sync_video?...`: the lookup needs all three parameters. */
export function checkLookup(q: URLSearchParams): Refusal | undefined {
  for (const k of ['video_url', 'audio_url', 'playback_type'])
    if (!q.get(k)) return param(`${k} is required`);
  if (!PLAYBACK_TYPES.includes(q.get('playback_type') ?? '')) return param('invalid playback_type');
  return undefined;
}

/**
 * `POST /v2/create_lip_sync_video`: exactly the three fields; a valid playback type; and an asset URL
 * of this account only once its bytes arrived (a URL elsewhere is the user's own and is fetched later).
 */
export function checkCreate(
  body: unknown,
  assetOf: (url: string) => SignedAsset | 'foreign' | undefined,
): Refusal | undefined {
  const b = body as { video_url?: unknown; audio_url?: unknown; playback_type?: unknown } | undefined;
  const keys = Object.keys(b ?? {})
    .sort()
    .join(',');
  if (keys !== 'audio_url,playback_type,video_url') return param(`bad parameters: ${keys}`);
  if (typeof b?.video_url !== 'string' || typeof b.audio_url !== 'string' || !b.video_url || !b.audio_url)
    return param('video_url and audio_url are required');
  if (!PLAYBACK_TYPES.includes(String(b.playback_type))) return param('invalid playback_type');
  for (const url of [b.video_url, b.audio_url]) {
    const a = assetOf(url);
    if (a === undefined) return param(`unknown asset ${url}`);
    if (a !== 'foreign' && !a.uploaded) return param(`asset ${url} was never uploaded`);
  }
  return undefined;
}
