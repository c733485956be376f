/** The provider-id shape (issue 24 item 7): what providers hand out passes, anything path-like does not. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../../src/errors.js';
import { checkTaskId, isTaskIdShape, MAX_TASK_ID_LENGTH } from '../../../src/providers/ids.js';

test('ids the providers and the fakes hand out have the shape', () => {
  for (const id of [
    '3f2b8c1e-9a4d-4c1b-8e2f-0a1b2c3d4e5f',
    'jt_0a1b2c3d',
    'seeded_1',
    'render_ls_0123456789abcdefghij_a1b2c3d4e5f6',
    'sess_12_a1b2c3',
    'chat-1',
    'task_3_x9z',
    '1234567890',
    'a',
    'x'.repeat(MAX_TASK_ID_LENGTH),
  ])
    assert.equal(isTaskIdShape(id), true, id);
});

test('path, query, escape, whitespace, control and over-long ids are refused with a hint', () => {
  for (const id of [
    '',
    '..',
    '.',
    'a/b',
    'a\\b',
    'a..b',
    'x?y',
    'x#y',
    '%2e',
    'a b',
    'a\u0000',
    'x.',
    'é',
    'x'.repeat(129),
  ]) {
    assert.equal(isTaskIdShape(id), false, JSON.stringify(id));
    assert.throws(
      () => checkTaskId(id, 'Jogg task id'),
      (e: unknown) =>
        e instanceof AppError && e.code === 'invalid_input' && !!e.hint && /Jogg task id/.test(e.message),
    );
  }
  assert.throws(() => checkTaskId(42, 'Jogg task id'), AppError);
});
