/**
 * The media check for a single input that is about to leave the machine on its own (upload_asset):
 * the same checks preflight applies before a create (a real video, audio or image stream of the kind
 * its role needs, in a format the provider takes) plus the size limit. Without ffprobe, the file's
 * first bytes must carry a known media signature, so text and other documents are still refused.
 */
import { open } from 'node:fs/promises';
import { AppError } from '../errors.js';
import { type ProbeResult, probe } from './probe.js';
import { acceptedFormat, type ProviderView } from './rules/format.js';
import { requiredStream } from './rules/streams.js';
import type { InputRole, ResolvedInput } from './types.js';

export interface MediaCheckTools {
  /** ffprobe; without it only the signature check runs. */
  ffprobePath?: string;
  /** Largest file accepted (LIPSYNC_MAX_INPUT_MB), bytes. */
  maxBytes: number;
  /** The provider the file goes to: its accepted formats are checked too. */
  provider?: ProviderView;
  signal?: AbortSignal;
}

/**
 * Throws AppError('invalid_input') unless `input` is real media fit for `role`. Returns the probe
 * (undefined for a URL, which is not read here, or when ffprobe is missing).
 */
export async function checkMediaInput(
  input: ResolvedInput,
  role: InputRole,
  tools: MediaCheckTools,
): Promise<ProbeResult | undefined> {
  if (input.type === 'url') {
    if (tools.provider) acceptedFormat(role, input, tools.provider);
    return undefined;
  }
  if (input.size > tools.maxBytes) throw tooBig(input, tools.maxBytes);
  if (!tools.ffprobePath) {
    await requireSignature(input, role);
    if (tools.provider) acceptedFormat(role, input, tools.provider);
    return undefined;
  }
  const probed = await probe(tools.ffprobePath, input.path, tools.signal);
  if (tools.provider) acceptedFormat(role, input, tools.provider, probed);
  requiredStream(role, input, probed);
  return probed;
}

function tooBig(input: ResolvedInput & { type: 'file' }, max: number): AppError {
  const mib = (n: number) => (n / 1048576).toFixed(0);
  return new AppError(
    'invalid_input',
    `${input.filename} is ${mib(input.size)} MiB, above the ${mib(max)} MiB limit.`,
    {
      hint: 'Compress or trim the file, or raise LIPSYNC_MAX_INPUT_MB.',
      details: { file: input.filename },
    },
  );
}

/** Leading bytes of media containers: the roles each may serve, and how to recognize it. */
const SIGNATURES: [InputRole[], (h: Buffer, t: string) => boolean][] = [
  [['video', 'audio', 'image'], (_, t) => t.startsWith('ftyp', 4)], // mp4, mov, m4a, 3gp, heic
  [['video', 'audio'], (_, t) => t.startsWith('\x1a\x45\xdf\xa3')], // matroska, webm
  [['video'], (_, t) => t.startsWith('RIFF') && t.startsWith('AVI ', 8)],
  [['audio'], (_, t) => t.startsWith('RIFF') && t.startsWith('WAVE', 8)],
  [['image'], (_, t) => t.startsWith('RIFF') && t.startsWith('WEBP', 8)],
  [['video', 'audio'], (_, t) => t.startsWith('OggS')],
  [['audio'], (_, t) => t.startsWith('fLaC') || t.startsWith('ID3')],
  [['audio'], (_, t) => t.startsWith('FORM') && /^AIF[FC]/.test(t.slice(8, 12))],
  [['audio'], (h) => h[0] === 0xff && ((h[1] ?? 0) & 0xf0) >= 0xe0], // mp3 / aac frame sync
  [['image'], (_, t) => t.startsWith('\x89PNG') || t.startsWith('\xff\xd8\xff')],
  [['image', 'video'], (_, t) => t.startsWith('GIF8')],
  [['video'], (_, t) => t.startsWith('FLV\x01') || t.startsWith('\x00\x00\x01\xba')],
  [['video'], (h) => h[0] === 0x47 && h[188] === 0x47], // mpeg transport stream: a sync byte per 188
];

/** A file whose first bytes match no known media container is refused (used without ffprobe). */
async function requireSignature(input: ResolvedInput & { type: 'file' }, role: InputRole): Promise<void> {
  const fh = await open(input.path, 'r');
  const head = Buffer.alloc(192);
  try {
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  const text = head.toString('latin1');
  if (SIGNATURES.some(([roles, test]) => roles.includes(role) && test(head, text))) return;
  throw new AppError(
    'invalid_input',
    `${input.filename} does not look like ${role === 'audio' ? 'an audio' : `a ${role}`} file; it was not uploaded.`,
    {
      hint: 'Pass a video, audio or image file. If it is one, install ffmpeg (it includes ffprobe) or set FFPROBE_PATH so it can be checked properly.',
      details: { file: input.filename, role },
    },
  );
}
