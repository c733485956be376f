/**
 * The seed forbids naming the vendor behind The Director to users. The fake's backend messages contain
 * the vendor word on purpose; everything a user could see from the provider is collected and scanned.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import { namesVendor, scrub } from '../../../src/providers/director/text.js';
import type { CreateFault } from '../../fakes/director/index.js';
import { harness, pollUntilDone, startJob, videoRequest } from './helpers.js';

describe('director never names the vendor', () => {
  it('scrub removes the word and hosts carrying it, but keeps config names', () => {
    assert.equal(scrub('Sjinn upstream error'), 'the video backend upstream error');
    assert.equal(
      scrub('Could not reach sjinn.ai: ECONNREFUSED'),
      'Could not reach the video backend: ECONNREFUSED',
    );
    assert.equal(scrub('Check SJINN_API_KEY'), 'Check SJINN_API_KEY');
    assert.equal(namesVendor('Check SJINN_API_KEY or SJINN_BASE_URL'), false);
    assert.equal(namesVendor('the SJINN backend'), true);
  });

  it('scrub leaves no doubled words where an article stood before the vendor word', () => {
    assert.equal(
      scrub('Rendered by the Sjinn agent pipeline'),
      'Rendered by the video backend agent pipeline',
    );
    assert.equal(scrub('The Sjinn queue is full'), 'The video backend queue is full');
    assert.equal(scrub('an sjinn.ai error'), 'a video backend error');
    assert.equal(scrub('a SJINN worker crashed'), 'a video backend worker crashed');
    assert.equal(scrub('theSjinn is fine'), 'the video backend is fine');
    for (const s of ['by the sjinn pipeline', 'THE Sjinn model', 'A sjinn task']) {
      assert.doesNotMatch(scrub(s), /\b(the|a|an)\s+the\b/i, s);
    }
  });

  it('no AppError message/hint/details, snapshot, credits or progress line contains it', async () => {
    const seen: unknown[] = [];
    const faults: CreateFault[][] = [
      ['429'],
      ['503', '503', '503'],
      ['500', '500', '500', 'reject', 'reject'],
      ['reject', 'reject', 'reject'],
      ['401'],
      ['no-credits'],
      ['lose'],
      ['504'],
      ['500-html'],
      ['no-id', 'no-id', 'no-id'],
    ];
    const queryModes = ['none', 'status', 'success-false'] as const;
    for (const direct of [false, true]) {
      for (const create of faults) {
        const h = await harness(direct ? { sjinnApiKey: 'fake' } : { gatewayToken: 'fake' });
        h.fake.faults.create = [...create];
        try {
          await startJob(h, videoRequest({ prompt: 'p' }));
        } catch (err) {
          assert.ok(err instanceof AppError, String(err));
          seen.push({ message: err.message, hint: err.hint, details: err.details });
        }
        seen.push(h.progress, await h.provider.credits?.(h.startCtx.signal));
        await h.close();
      }
      for (const fail of queryModes) {
        const h = await harness(direct ? { sjinnApiKey: 'fake' } : { gatewayToken: 'fake' });
        h.fake.faults.fail = fail;
        const res = await startJob(h, videoRequest({ prompt: 'p' }));
        seen.push(res.snapshot, res.operation, ...(await pollUntilDone(h, res.operation)));
        h.fake.faults.queryHttpStatus = 500;
        try {
          await h.provider.status(res.operation, h.statusCtx);
        } catch (err) {
          assert.ok(err instanceof AppError);
          seen.push({ message: err.message, hint: err.hint, details: err.details });
        }
        await h.close();
      }
    }
    const missing = await harness({ gatewayToken: undefined });
    seen.push(missing.provider.credentials(), await missing.provider.credits?.(missing.startCtx.signal));
    await missing.close();

    const text = JSON.stringify(seen);
    assert.ok(text.length > 2000, 'the scan covered real output');
    assert.ok(
      /workers are all busy|policy|GPU memory/.test(text),
      'backend messages were passed on (scrubbed)',
    );
    assert.equal(namesVendor(text), false, text.match(/.{60}sjinn.{60}/i)?.[0]);
  });
});
