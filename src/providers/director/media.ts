/**
 * The Director takes media as http(s) URLs only and has no upload endpoint. A local file is refused,
 * with the exact fix — unless the user opted in (DIRECTOR_UPLOAD_VIA) to upload it first to a configured
 * provider whose upload returns a public URL (Jogg's asset upload). That upload goes through the
 * JobService's cache (`ctx.asset`), so a second run never uploads again and keeps its fingerprint's URL.
 * Where each file went is said in the plan's notes, which every snapshot shows.
 */
import { AppError } from '../../errors.js';
import type { InputRole, PrepareContext, Provider, ResolvedInput } from '../provider.js';

export type Uploader = Pick<Provider, 'name' | 'displayName' | 'credentials' | 'upload'>;

export interface DirectorMedia {
  urls: { image?: string; video?: string; audio?: string };
  notes: string[];
}

function refusal(input: Extract<ResolvedInput, { type: 'file' }>, role: InputRole): AppError {
  return new AppError(
    'invalid_input',
    `The Director needs the ${role} as an http(s) URL; "${input.filename}" is a local file and The Director has no upload endpoint.`,
    {
      hint:
        'Either pass a public https URL (a storage bucket, your own server), or opt in to uploading local files through Jogg: ' +
        "set DIRECTOR_UPLOAD_VIA=jogg and JOGG_API_KEY, and the file is uploaded to Jogg's asset storage (a permanent public URL) before The Director gets it.",
      details: { role, file: input.filename },
    },
  );
}

export async function resolveMedia(
  inputs: Partial<Record<InputRole, ResolvedInput>>,
  via: Uploader | undefined,
  ctx: PrepareContext,
): Promise<DirectorMedia> {
  const out: DirectorMedia = { urls: {}, notes: [] };
  for (const role of ['image', 'video', 'audio'] as const) {
    const input = inputs[role];
    if (!input) continue;
    if (input.type === 'url') {
      out.urls[role] = input.url;
      continue;
    }
    if (!via?.upload) throw refusal(input, role);
    const cred = via.credentials();
    if (!cred.configured) {
      throw new AppError(
        'missing_credentials',
        `DIRECTOR_UPLOAD_VIA names ${via.displayName}, which is not configured, so "${input.filename}" cannot be uploaded for The Director.`,
        {
          hint: `${cred.fix ?? `Set ${cred.missingKey ?? 'its API key'}.`} Or pass the ${role} as a public https URL.`,
          details: {
            role,
            file: input.filename,
            ...(cred.missingKey ? { missing_key: cred.missingKey } : {}),
          },
        },
      );
    }
    ctx.progress(
      `uploading ${role} "${input.filename}" to ${via.displayName}'s asset storage for The Director`,
    );
    const url = await ctx.asset(input, role);
    out.urls[role] = url;
    out.notes.push(
      `The local ${role} "${input.filename}" was uploaded to ${via.displayName}'s asset storage (a permanent public URL: ${url}) so The Director could use it.`,
    );
  }
  return out;
}
