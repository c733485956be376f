/**
 * Progress notifications: the numbers and the words agree (issue 27 item 5). A wait on a task whose
 * fraction is known sends `progress` in percent with `total: 100`, the same percent its message says;
 * one without a known fraction sends no total and no percent. `progress` still increases every time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressNote } from '../../../src/jobs/waiting.js';
import { Redactor } from '../../../src/redact.js';
import { callOptions } from '../../../tools/define.js';

type Params = { progress: number; total?: number; message: string };

function client(): { extra: never; sent: Params[] } {
  const sent: Params[] = [];
  // The v2 SDK's ServerContext: the request's parts under mcpReq.
  const extra = {
    mcpReq: {
      _meta: { progressToken: 't1' },
      signal: new AbortController().signal,
      notify: async (n: { params: Params }) => {
        sent.push(n.params);
      },
    },
  };
  return { extra: extra as never, sent };
}

const ctx = { roots: () => [], sawTask: () => {}, redactor: new Redactor([]) } as never;

function agree(p: Params): void {
  const pct = /(\d+)%/.exec(p.message)?.[1];
  if (pct === undefined) {
    assert.equal(p.total, undefined, `no percent in "${p.message}", so no total`);
    return;
  }
  assert.equal(p.total, 100, `"${p.message}" says a percent: total 100`);
  assert.equal(Math.round(p.progress), Number(pct), `"${p.message}" vs progress ${p.progress}`);
}

test('a local job at 0% then 40%: progress 0 then 40 of 100, always increasing', () => {
  const { extra, sent } = client();
  const opts = callOptions(extra, ctx);
  const view = { provider: 'local', task_id: 'ls_1', status: 'processing', progress: 0 } as never;
  for (const v of [view, view, { ...(view as object), progress: 0.4 }]) {
    const note = progressNote(v as never);
    opts.onProgress?.(note.message, note.progress, note.total);
  }
  assert.equal(sent.length, 3);
  for (const p of sent) agree(p);
  for (let i = 1; i < sent.length; i++)
    assert.ok((sent[i]?.progress ?? 0) > (sent[i - 1]?.progress ?? 0), 'progress increases');
  assert.match(sent[2]?.message ?? '', /40%/);
});

test('a task with no known fraction: a count, no total, no percent in the words', () => {
  const { extra, sent } = client();
  const opts = callOptions(extra, ctx);
  const view = { provider: 'jogg', task_id: 'ls_2', status: 'processing' } as never;
  for (const _ of [1, 2]) {
    const note = progressNote(view);
    opts.onProgress?.(note.message, note.progress, note.total);
  }
  opts.onProgress?.('Jogg accepted the job');
  for (const p of sent) agree(p);
  // A count sent before a percent does not make the percent lie.
  const later = progressNote({
    provider: 'local',
    task_id: 'ls_2',
    status: 'processing',
    progress: 0,
  } as never);
  opts.onProgress?.(later.message, later.progress, later.total);
  agree(sent[3] as Params);
  assert.ok((sent[2]?.progress ?? 0) > (sent[1]?.progress ?? 0));
});
