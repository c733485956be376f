/** server.json (MCP Registry) and mcp.json (client config) stay consistent with package.json and the config docs. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CONFIG_DOCS } from '../../src/config.js';

const root = new URL('../../../', import.meta.url);
const readJson = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, root), 'utf8')) as T;

interface EnvVar {
  name: string;
  description: string;
  isSecret?: boolean;
  isRequired?: boolean;
}
interface ServerJson {
  $schema: string;
  name: string;
  description: string;
  version: string;
  packages: {
    registryType: string;
    identifier: string;
    version: string;
    transport: { type: string };
    environmentVariables?: EnvVar[];
  }[];
}

const pkg = readJson<{ name: string; version: string; bin: Record<string, string> }>('package.json');
const server = readJson<ServerJson>('server.json');

/** Credentials: any documented variable whose name says it is a key or a token. */
const CREDENTIALS = CONFIG_DOCS.map((d) => d.name).filter(
  (n) => /(_API_KEY|_TOKEN)$/.test(n) && n !== 'LIPSYNC_HTTP_TOKEN',
);

test('server.json version and package match package.json', () => {
  assert.match(
    server.$schema,
    /^https:\/\/static\.modelcontextprotocol\.io\/schemas\/[\d-]+\/server\.schema\.json$/,
  );
  assert.match(server.name, /^io\.github\.[\w.-]+\/[\w.-]+$/);
  assert.ok(
    server.description.length > 0 && server.description.length <= 100,
    'description: 1-100 characters',
  );
  assert.equal(server.version, pkg.version);
  const npm = server.packages.find((p) => p.registryType === 'npm');
  assert.ok(npm, 'an npm package entry');
  assert.equal(npm.identifier, pkg.name);
  assert.equal(npm.version, pkg.version);
  assert.equal(npm.transport.type, 'stdio');
  assert.ok(pkg.bin[pkg.name], 'package.json has a bin named like the package (what `npx -y <name>` runs)');
});

test("package.json's mcpName is server.json's name (the MCP Registry's ownership check)", () => {
  const server = readJson<ServerJson>('server.json');
  const { mcpName } = readJson<{ mcpName?: string }>('package.json');
  assert.equal(mcpName, server.name);
});

test('server.json declares every documented credential as a secret, none as required', () => {
  assert.ok(CREDENTIALS.includes('JOGG_API_KEY'), 'credential detection sees JOGG_API_KEY');
  const vars = server.packages[0]?.environmentVariables ?? [];
  const documented = new Set(CONFIG_DOCS.map((d) => d.name));
  for (const name of CREDENTIALS) {
    const v = vars.find((e) => e.name === name);
    assert.ok(v, `${name} is missing from server.json`);
    assert.equal(v.isSecret, true, `${name} must have isSecret: true`);
  }
  for (const v of vars) {
    assert.ok(documented.has(v.name), `${v.name} is not in CONFIG_DOCS`);
    assert.equal(v.isRequired, false, `${v.name}: no variable is required (local works without any)`);
    assert.ok(v.description, `${v.name} needs a description`);
    if (!CREDENTIALS.includes(v.name)) assert.notEqual(v.isSecret, true, `${v.name} is not a secret`);
  }
});

test('mcp.json starts the package with npx -y', () => {
  const mcp = readJson<{ mcpServers: Record<string, { command: string; args: string[]; env?: object }> }>(
    'mcp.json',
  );
  const entries = Object.values(mcp.mcpServers);
  assert.ok(entries.length > 0);
  for (const e of entries) {
    assert.equal(e.command, 'npx');
    assert.deepEqual(e.args.slice(0, 2), ['-y', pkg.name]);
    for (const name of Object.keys(e.env ?? {}))
      assert.ok(
        CONFIG_DOCS.some((d) => d.name === name),
        `mcp.json sets ${name}, which is not documented`,
      );
  }
});
