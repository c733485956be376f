/**
 * What the NemoVideo fake refuses (providers.md section 2). The documented refusal is HTTP 400 for an
 * anonymous token without `X-Client-Id`; a body the API cannot use is answered like the fake's other
 * bad bodies, code 4000 on HTTP 200 (the service's exact wording is not public). Kept apart from the
 * routes so fault switches added to index.ts merge without touching these rules.
 */

/** A refusal to answer: envelope `code` with HTTP `status`. */
export interface Refusal {
  status: number;
  code: number;
  msg: string;
}

const bad = (msg: string): Refusal => ({ status: 200, code: 4000, msg });

const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** `POST /api/auth/anonymous-token`: a client id header, and no body. */
export function checkAnonymousToken(clientId: string | undefined, raw: Buffer): Refusal | undefined {
  if (!clientId) return { status: 400, code: 400, msg: 'missing X-Client-Id' };
  if (raw.length > 0) return bad('anonymous-token takes no body');
  return undefined;
}

/** `POST /api/tasks/me/with-session/nemo_agent`: `{ task_name, language }`. */
export function checkSessionBody(body: unknown): Refusal | undefined {
  const b = body as { task_name?: unknown; language?: unknown } | undefined;
  if (!b || typeof b !== 'object' || Array.isArray(b)) return bad('a JSON body is required');
  if (!isText(b.task_name)) return bad('task_name is required');
  if (b.language !== undefined && !isText(b.language)) return bad('language must be a language code');
  return undefined;
}

/** `POST /run_sse`: `{ app_name: "nemo_agent", user_id: "me", session_id, new_message: { parts: [{ text }] } }`. */
export function checkRunSse(body: unknown): Refusal | undefined {
  const b = body as
    | { app_name?: unknown; user_id?: unknown; session_id?: unknown; new_message?: { parts?: unknown } }
    | undefined;
  if (!b || typeof b !== 'object') return bad('a JSON body is required');
  if (b.app_name !== 'nemo_agent') return bad('app_name must be nemo_agent');
  if (b.user_id !== 'me') return bad('user_id must be me');
  if (!isText(b.session_id)) return bad('session_id is required');
  const parts = b.new_message?.parts;
  if (
    !Array.isArray(parts) ||
    parts.length === 0 ||
    !parts.every((p) => isText((p as { text?: unknown })?.text))
  )
    return bad('new_message.parts[].text is required');
  return undefined;
}
