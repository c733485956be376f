/**
 * The fake's `/run_sse`: an agent "working" on a message. Sends keep-alives (heartbeat events, empty
 * `data:` lines, comments), tool_call/tool_result events and — unless in silent mode — text, then
 * applies its change to the session and closes the stream (there is no done event). The drop fault
 * destroys the socket mid-stream while the job still completes server-side, like the real service.
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

export interface FakeTrack {
  tt: number;
  sg: { id: string; d: number; src?: string }[];
  d: number;
}

export interface FakeSession {
  id: string;
  userId: string;
  draft: { t: FakeTrack[]; d: number };
  video_infos: Record<string, unknown>[];
  generated_media: { type: string; url: string; created_at: number }[];
  messages: string[];
  /** Work the agent finished that is not yet visible in the state (see `mediaAfterStateReads`). */
  pending?: { reads: number; apply: () => void }[];
}

export interface ChatFaults {
  /** Destroy the socket after this many events (the job still completes). */
  dropStreamAfter?: number | undefined;
  /** Edits send no text at all (about 30% of real edits). */
  silentEdit?: boolean;
  /** Include a malformed `data:` line. */
  malformedEvent?: boolean;
  /** Delay between events, ms. */
  eventDelayMs?: number;
  /**
   * The agent's work lands in the session state only on the Nth state read after the stream ends
   * (the stream closes cleanly before the media appears). `Infinity`: it never appears.
   */
  mediaAfterStateReads?: number | undefined;
  /** The message is received and processed, but the connection breaks before any answer byte. */
  loseRunSseAnswer?: boolean;
}

/** Applies the agent's change now, or queues it behind state reads (`mediaAfterStateReads`). */
function landing(session: FakeSession, apply: () => void, faults: ChatFaults): () => void {
  const reads = faults.mediaAfterStateReads;
  if (reads === undefined) return apply;
  return () => {
    session.pending ??= [];
    session.pending.push({ reads, apply });
  };
}

/** Makes all queued work visible now (a test decides when the agent's result lands). */
export function landPending(session: FakeSession): void {
  for (const p of session.pending ?? []) p.apply();
  session.pending = [];
}

/** Called on every state read: queued work becomes visible on its Nth read. */
export function stateRead(session: FakeSession): void {
  for (const p of [...(session.pending ?? [])]) {
    p.reads--;
    if (p.reads <= 0) {
      p.apply();
      session.pending = session.pending?.filter((x) => x !== p);
    }
  }
}

type Frame = string;

const ev = (obj: unknown): Frame => `data: ${JSON.stringify(obj)}\n\n`;

export function recomputeDuration(s: FakeSession): void {
  s.draft.d = Math.max(0, ...s.draft.t.map((t) => t.d));
}

/** What the agent does for a message: the frames to send and the state change to apply. */
function plan(
  session: FakeSession,
  text: string,
  faults: ChatFaults,
  now: number,
): { frames: Frame[]; apply: () => void } {
  const keepalives = [ev({ type: 'heartbeat' }), 'data:\n\n', ': keep-alive\n\n'];
  if (/lip-sync|lip sync/i.test(text)) {
    const url = `https://cdn.fake-nemo.test/${session.id}/lipsync-${session.generated_media.length + 1}.mp4`;
    return {
      frames: [
        ...keepalives,
        ev({ type: 'tool_call', name: 'lip_sync', args: { session_id: session.id } }),
        ev({ type: 'heartbeat' }),
        ...(faults.malformedEvent ? ['data: {"type": "text", oops\n\n'] : []),
        ev({ type: 'tool_result', name: 'lip_sync', result: { ok: true } }),
        ev({ type: 'text', text: 'Done! ' }),
        // The real agent writes for its GUI (seed 001); the server must not pass that on as is.
        ev({ type: 'text', text: 'Your lip-synced video is ready. Click the Export button to download it.' }),
      ],
      apply: () => {
        session.generated_media.push({ type: 'video', url, created_at: now });
      },
    };
  }
  if (faults.silentEdit) {
    return {
      frames: [
        ...keepalives,
        ev({ type: 'tool_call', name: 'add_bgm' }),
        ev({ type: 'tool_result', name: 'add_bgm' }),
      ],
      apply: () => {
        session.draft.t.push({ tt: 1, sg: [{ id: `bgm-${session.draft.t.length}`, d: 10_000 }], d: 10_000 });
        recomputeDuration(session);
      },
    };
  }
  return {
    frames: [
      ...keepalives,
      ev({ type: 'tool_call', name: 'add_title' }),
      ev({ type: 'tool_result', name: 'add_title' }),
      ev({ type: 'text', text: 'I added the title "Urban Dreams" for the first 3 seconds.' }),
    ],
    apply: () => {
      session.draft.t.push({ tt: 7, sg: [{ id: `title-${session.draft.t.length}`, d: 3_000 }], d: 3_000 });
      recomputeDuration(session);
    },
  };
}

export async function streamChat(
  res: ServerResponse,
  session: FakeSession,
  text: string,
  faults: ChatFaults,
  now: number,
): Promise<'closed' | 'dropped' | 'lost'> {
  session.messages.push(text);
  const planned = plan(session, text, faults, now);
  const frames = planned.frames;
  const apply = landing(session, planned.apply, faults);
  if (faults.loseRunSseAnswer) {
    // The paid message arrived and the agent does the work, but the answer never reaches the caller.
    apply();
    res.socket?.destroy();
    return 'lost';
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  res.flushHeaders();
  for (let i = 0; i < frames.length; i++) {
    if (faults.dropStreamAfter !== undefined && i >= faults.dropStreamAfter) {
      // The connection breaks, but the agent keeps working and finishes the job.
      apply();
      res.socket?.destroy();
      return 'dropped';
    }
    res.write(frames[i]);
    await delay(faults.eventDelayMs ?? 2);
  }
  apply();
  res.end();
  return 'closed';
}
