/**
 * The Director takes media as http(s) URLs only and fetches each itself; it has no upload endpoint. A
 * local file is refused, with the exact fix — unless the user opted in:
 * - LIPSYNC_PUBLIC_BASE_URL (preferred, as the seed's own skill does it): the injected publisher copies
 *   the file into the user's exposed folder under an unguessable name and gives a signed link that
 *   expires; the copy is bound to this task and removed when it is final. Never a third party.
 * - DIRECTOR_UPLOAD_VIA: uploaded first to a configured provider whose upload returns a public URL
 *   (Jogg's asset upload), through the JobService's cache (`ctx.asset`).
 * Where each file went is said in the plan's notes, which every snapshot shows.
 */
import { AppError } from '../../errors.js';
import type { Publish } from '../../media/publish.js';
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
        'Pass a public https URL, or let The Director fetch the file from your own machine: set LIPSYNC_PUBLIC_BASE_URL to the public URL of a folder your web server publishes (LIPSYNC_PUBLIC_DIR, or `serve --http` on /files/); the file is copied there under a random name and sent as a signed link that expires. ' +
        "Or opt in to uploading local files through Jogg: set DIRECTOR_UPLOAD_VIA=jogg and JOGG_API_KEY (Jogg's asset storage keeps a permanent public URL).",
      details: { role, file: input.filename },
    },
  );
}

/** Exposes a local file at a signed link of the user's folder, bound to this task. */
async function published(
  publisher: Publish,
  input: Extract<ResolvedInput, { type: 'file' }>,
  role: InputRole,
  ctx: PrepareContext,
  out: DirectorMedia,
): Promise<void> {
  if (!ctx.taskId) throw new AppError('internal', 'A local file can only be exposed for a task.');
  ctx.progress(`exposing ${role} "${input.filename}" at a signed link for The Director`);
  const { url, expiresAt } = await publisher.publish(input, role, ctx.taskId, ctx.signal);
  out.urls[role] = url;
  out.notes.push(
    `The local ${role} "${input.filename}" was copied to your public folder under a random name and sent as a signed link that expires at ${new Date(expiresAt).toISOString()}; the copy is removed when this task is final.`,
  );
}

export async function resolveMedia(
  inputs: Partial<Record<InputRole, ResolvedInput>>,
  director: { uploadVia?: Uploader; publisher?: Publish },
  ctx: PrepareContext,
): Promise<DirectorMedia> {
  const out: DirectorMedia = { urls: {}, notes: [] };
  const via = director.uploadVia;
  for (const role of ['image', 'video', 'audio'] as const) {
    const input = inputs[role];
    if (!input) continue;
    if (input.type === 'url') {
      out.urls[role] = input.url;
      continue;
    }
    if (director.publisher) {
      await published(director.publisher, input, role, ctx, out);
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
