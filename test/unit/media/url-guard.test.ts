import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPrivateAddress, isPrivateName, privateHost } from '../../../src/media/url-guard.js';

describe('url guard', () => {
  test('private, loopback, link-local, CGNAT, unique-local and mapped addresses are private', () => {
    for (const ip of [
      '0.0.0.0',
      '127.0.0.1',
      '127.255.255.254',
      '10.0.0.1',
      '100.64.0.1',
      '100.127.255.255',
      '169.254.169.254',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.0.1',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      'fc00::1',
      'fdff:ffff::1',
      'fe80::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:a9fe:a9fe',
      '::127.0.0.1',
    ]) {
      assert.equal(isPrivateAddress(ip), true, ip);
    }
  });

  test('public addresses are not private', () => {
    for (const ip of [
      '8.8.8.8',
      '93.184.215.14',
      '100.63.255.255',
      '100.128.0.0',
      '172.15.255.255',
      '172.32.0.0',
      '192.169.0.1',
      '203.0.113.10',
      '2606:4700::1111',
      '::ffff:8.8.8.8',
      'not-an-ip',
    ]) {
      assert.equal(isPrivateAddress(ip), false, ip);
    }
  });

  test('names for this machine or a metadata service are private without a lookup', () => {
    for (const n of [
      'localhost',
      'LOCALHOST.',
      'a.b.localhost',
      'metadata.google.internal',
      'metadata',
      'x.internal',
      'nas.local',
    ])
      assert.equal(isPrivateName(n), true, n);
    for (const n of ['example.com', 'localhost.example.com', 'internal.example.com', 'metadata.example.com'])
      assert.equal(isPrivateName(n), false, n);
  });

  test('IP literals are judged without a lookup; names by every answer', async () => {
    const noLookup = async () => {
      throw new Error('no lookup expected');
    };
    assert.match(
      (await privateHost(new URL('http://2130706433/'), noLookup))?.reason ?? '',
      /127\.0\.0\.1 is a loopback/,
    );
    assert.match((await privateHost(new URL('http://[fe80::1]/'), noLookup))?.reason ?? '', /link-local/);
    assert.equal(await privateHost(new URL('https://8.8.8.8/a.mp4'), noLookup), undefined);
    const asked: string[] = [];
    const lookup = async (host: string) => {
      asked.push(host);
      return [
        { address: '2606:4700::1111', family: 6 },
        { address: '::ffff:192.168.1.1', family: 6 },
      ];
    };
    const v = await privateHost(new URL('https://cdn.example.com/a.mp4'), lookup);
    assert.deepEqual(asked, ['cdn.example.com']);
    assert.match(v?.reason ?? '', /cdn\.example\.com resolves to ::ffff:192\.168\.1\.1/);
  });

  test('a name that cannot be resolved here, or not in time, is left to the provider', async () => {
    const failing = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    assert.equal(await privateHost(new URL('https://nowhere.example/a.mp4'), failing), undefined);
    const hanging = () => new Promise<never>(() => undefined);
    assert.equal(await privateHost(new URL('https://slow.example/a.mp4'), hanging, 0), undefined);
  });
});

test('names that spell out a private address are refused without a lookup (wildcard DNS)', async () => {
  const { privateHost, embeddedAddress } = await import('../../../src/media/url-guard.js');
  const failing = async () => {
    throw new Error('no DNS here');
  };
  for (const host of ['169.254.169.254.nip.io', '10-0-0-1.sslip.io', 'app.127.0.0.1.nip.io']) {
    const v = await privateHost(new URL(`http://${host}/v.mp4`), failing);
    assert.ok(v, `${host} refused`);
  }
  assert.equal(embeddedAddress('media.example.com'), undefined);
  assert.equal(await privateHost(new URL('http://8.8.8.8.nip.io/v.mp4'), failing), undefined);
  assert.equal(await privateHost(new URL('http://cdn-1-2-3.example.com/v.mp4'), failing), undefined);
});
