/**
 * Format rule: the provider must accept the input's format. The extension decides; for a local file
 * with an odd or missing extension, the probed container decides. A URL without a recognizable media
 * extension is let through (signed CDN links often have none).
 */
import { extname } from 'node:path';
import { AppError } from '../../errors.js';
import type { ProbeResult } from '../probe.js';
import type { InputRole, MediaCapabilities, ResolvedInput } from '../types.js';

export interface ProviderView {
  displayName: string;
  capabilities: MediaCapabilities;
}

/** Extensions a probed container name stands for (used when a file's extension is missing or odd). */
const FORMAT_EXTENSIONS: [RegExp, string[]][] = [
  [/\bmov\b|\bmp4\b/, ['mp4', 'mov', 'm4v', 'm4a']],
  [/matroska|webm/, ['mkv', 'webm']],
  [/^avi$/, ['avi']],
  [/^wav$/, ['wav']],
  [/^mp3$/, ['mp3']],
  [/^aac$/, ['aac']],
  [/^ogg$/, ['ogg']],
  [/^flac$/, ['flac']],
  [/png_pipe/, ['png']],
  [/jpeg_pipe/, ['jpg', 'jpeg']],
  [/webp_pipe/, ['webp']],
  [/^gif$/, ['gif']],
];

/** Media extensions we recognize; a URL with one the provider does not list is refused early. */
export const KNOWN_MEDIA = new Set([
  ...['mp4', 'mov', 'm4v', 'webm', 'mkv', 'avi', 'flv', 'wmv', 'mpg', 'mpeg', 'ts', '3gp'],
  ...['wav', 'mp3', 'm4a', 'aac', 'ogg', 'oga', 'opus', 'flac', 'wma', 'aiff', 'aif'],
  ...['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'tiff', 'heic'],
]);

export function extOf(name: string): string {
  const e = extname(name).toLowerCase().replace(/^\./, '');
  return e === 'jpeg' ? 'jpg' : e;
}

function accepts(list: string[], ext: string): boolean {
  return list.includes(ext) || (ext === 'jpg' && list.includes('jpeg'));
}

/** Extensions the probed container stands for ([] when unknown). */
export function probedExtensions(probed: ProbeResult): string[] {
  return FORMAT_EXTENSIONS.find(([re]) => re.test(probed.formatName))?.[1] ?? [];
}

function formatError(role: InputRole, input: ResolvedInput, displayName: string, list: string[]): AppError {
  const ext = extOf(input.filename);
  const what = ext ? `a .${ext} file` : 'a file without a recognized extension';
  return new AppError(
    'invalid_input',
    `${input.filename} is ${what}; ${displayName} accepts ${role} as ${list.join(', ')}.`,
    {
      hint: `Convert it first, e.g. \`ffmpeg -i ${input.filename} out.${list[0] ?? 'mp4'}\`, or pick another provider.`,
      details: { file: input.filename, role },
    },
  );
}

/** The provider takes this role at all. */
export function roleSupported(role: InputRole, input: ResolvedInput, provider: ProviderView): string[] {
  const list = provider.capabilities.formats[role];
  if (list) return list;
  throw new AppError(
    'invalid_input',
    `${provider.displayName} does not take ${role === 'video' ? 'a' : 'an'} ${role} input (${input.filename}).`,
    {
      hint: `Leave out the ${role}, or pick a provider that supports it (see check_credits).`,
      details: { role },
    },
  );
}

/** Throws unless the provider accepts the input's format (by extension, else by probed content). */
export function acceptedFormat(
  role: InputRole,
  input: ResolvedInput,
  provider: ProviderView,
  probed?: ProbeResult,
): void {
  const list = roleSupported(role, input, provider);
  const ext = extOf(input.filename);
  if (accepts(list, ext)) return;
  if (!probed) {
    if (input.type === 'url' && !KNOWN_MEDIA.has(ext)) return;
    throw formatError(role, input, provider.displayName, list);
  }
  // Odd or missing extension on a local file: trust what the content is.
  if (!probedExtensions(probed).some((e) => accepts(list, e)))
    throw formatError(role, input, provider.displayName, list);
}
