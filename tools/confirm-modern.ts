/**
 * Confirming a paid job with a 2026-07-28 client (issue 25): that era has no server-initiated
 * elicitation, so the call answers `input_required` with the question and a signed `requestState`
 * (the SDK's HMAC codec, keyed by LIPSYNC_CONFIRM_KEY or the key generated in LIPSYNC_HOME). The state
 * binds the tool, the job's fingerprint (provider, kind, inputs by content, params), the estimate and an
 * expiry. When the client calls again with the user's answer and that state, the state must verify and
 * still match this job at no higher cost; anything else is refused before any provider request.
 */
import {
  createRequestStateCodec,
  type InputRequiredResult,
  inputRequired,
  type RequestStateCodec,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { AppError } from '../src/errors.js';
import type { ConfirmJob } from '../src/jobs/service.js';

/** How long the user has to answer (the codec checks it on the real clock too). */
export const CONFIRM_TTL_MS = 10 * 60_000;

/** What a pending confirmation carries (signed, not encrypted: nothing secret in it). */
export interface PendingConfirm extends ConfirmJob {
  tool: string;
  /** Expiry, ms since the epoch on the server's clock. */
  exp: number;
}

/** What the tools need to sign and check a pending confirmation. */
export interface ConfirmSigning {
  key(): Promise<Buffer>;
  now(): number;
}

/** Thrown by the asker on the first round; the tool answers `input_required` with it. */
export class NeedsConfirmation extends Error {
  constructor(
    readonly question: string,
    readonly pending: PendingConfirm,
  ) {
    super(question);
  }
}

const codecs = new WeakMap<Buffer, RequestStateCodec<PendingConfirm>>();

async function codecOf(signing: ConfirmSigning): Promise<RequestStateCodec<PendingConfirm>> {
  const key = await signing.key();
  let c = codecs.get(key);
  if (!c) {
    c = createRequestStateCodec<PendingConfirm>({ key, ttlSeconds: CONFIRM_TTL_MS / 1000 });
    codecs.set(key, c);
  }
  return c;
}

function refuse(why: string): AppError {
  return new AppError('confirmation_required', `${why} Nothing was sent or paid.`, {
    hint: 'Call again with the same arguments and no requestState: the user is asked again, with the current cost.',
    noTaskCreated: true,
  });
}

/** Why a verified pending confirmation does not cover this job, or undefined when it does. */
function mismatch(p: PendingConfirm, tool: string, job: ConfirmJob, now: number): string | undefined {
  if (p.exp < now) return 'The confirmation expired before it came back.';
  if (p.provider !== job.provider) return `The confirmation was given for another provider (${p.provider}).`;
  if (p.tool !== tool || p.fingerprint !== job.fingerprint || p.force !== job.force)
    return 'The confirmation was given for a job with other inputs or settings.';
  const higher =
    p.unit !== job.unit ||
    (job.amount === null ? p.amount !== null : p.amount !== null && job.amount > p.amount);
  if (higher)
    return `The job now costs more than the user agreed to (${p.amount ?? 'unknown'} ${p.unit}, now ${job.amount ?? 'unknown'} ${job.unit}).`;
  return undefined;
}

/**
 * The asker of a 2026-07-28 request. First round: throws NeedsConfirmation. Answer round: the signed
 * state verified and matched, then the user's answer (`inputResponses.confirm`, an elicitation result).
 */
export function modernAsker(extra: ServerContext, tool: string, signing: ConfirmSigning) {
  return async (message: string, job: ConfirmJob): Promise<'accept' | 'decline' | 'unsupported'> => {
    const raw = extra.mcpReq.requestState<unknown>();
    const fresh = () => new NeedsConfirmation(message, { tool, ...job, exp: signing.now() + CONFIRM_TTL_MS });
    if (raw === undefined) throw fresh();
    if (typeof raw !== 'string') throw refuse('The confirmation sent back (requestState) is not valid.');
    let pending: PendingConfirm;
    try {
      pending = await (await codecOf(signing)).verify(raw, extra);
    } catch (err) {
      throw refuse(
        (err as Error).message === 'expired'
          ? 'The confirmation expired before it came back.'
          : 'The confirmation sent back (requestState) was not signed by this server or was altered.',
      );
    }
    const why = mismatch(pending, tool, job, signing.now());
    if (why) throw refuse(why);
    const answer = extra.mcpReq.inputResponses?.confirm as
      | { action?: unknown; content?: { confirm?: unknown } }
      | undefined;
    if (!answer || typeof answer.action !== 'string') throw fresh();
    return answer.action === 'accept' && answer.content?.confirm !== false ? 'accept' : 'decline';
  };
}

/** The `input_required` answer: the question as a form elicitation, and the signed pending job. */
export async function confirmationRequest(
  need: NeedsConfirmation,
  signing: ConfirmSigning,
): Promise<InputRequiredResult> {
  const requestState = await (await codecOf(signing)).mint(need.pending);
  return inputRequired({
    inputRequests: {
      confirm: inputRequired.elicit({
        message: need.question,
        requestedSchema: {
          type: 'object',
          properties: { confirm: { type: 'boolean', title: 'Pay for this job', default: true } },
        },
      }),
    },
    requestState,
  });
}
