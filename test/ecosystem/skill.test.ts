/**
 * The OpenClaw skill: its frontmatter declares what it really needs (node and the `lipsync-mcp` command
 * it calls, so OpenClaw does not show it Ready without them), and every CLI flag it uses exists.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SKILL = new URL('../../../skill/SKILL.md', import.meta.url);
const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

/** A minimal frontmatter parser: `key: value` lines between the first two `---` lines. */
function parseSkill(text: string): { meta: Record<string, string>; body: string } {
  const lines = text.split(/\r?\n/);
  assert.equal(lines[0], '---', 'SKILL.md starts with a frontmatter block');
  const end = lines.indexOf('---', 1);
  assert.ok(end > 0, 'frontmatter is closed by ---');
  const meta: Record<string, string> = {};
  for (const line of lines.slice(1, end)) {
    if (!line.trim()) continue;
    const m = /^([A-Za-z_][\w-]*):\s*(.*)$/.exec(line);
    assert.ok(m, `frontmatter line is "key: value": ${line}`);
    meta[m[1] as string] = (m[2] as string).trim();
  }
  return { meta, body: lines.slice(end + 1).join('\n') };
}

const { meta, body } = parseSkill(readFileSync(SKILL, 'utf8'));

test('skill frontmatter: name, description, requires node and the lipsync-mcp command it runs', () => {
  assert.equal(meta.name, 'lipsync-mcp');
  assert.ok((meta.description ?? '').length > 20, 'a description');
  const metadata = JSON.parse(meta.metadata ?? '') as {
    openclaw: { requires: Record<string, unknown>; primaryEnv?: string };
  };
  assert.deepEqual(
    metadata.openclaw.requires,
    { bins: ['node', 'lipsync-mcp'] },
    'gates on the commands it runs (no required env: the local provider needs no key)',
  );
  assert.equal(metadata.openclaw.primaryEnv, 'JOGG_API_KEY');
});

test('skill body: create once, query by task id, never recreate, report reused', () => {
  // The commands it runs are the ones its metadata requires: `lipsync-mcp`, not `npx -y lipsync-mcp`.
  assert.match(body, /^lipsync-mcp run --video \S+ --audio \S+ --no-poll/m);
  assert.match(body, /^lipsync-mcp run --task-id \S+ --poll/m);
  assert.doesNotMatch(body.replace(/openclaw mcp add .*/g, ''), /npx -y lipsync-mcp (run|doctor|credits)/);
  assert.match(body, /[Nn]ever run the create command again/);
  assert.match(body, /`reused`/);
  assert.match(body, /--force-recreate/);
  assert.match(body, /missing_key/);
  assert.match(body, /hint/);
  // OpenClaw 2026.9 rejects `-- npx -y …` ("Too many arguments for this command").
  assert.match(
    body,
    /openclaw mcp add lipsync --command npx --arg=-y --arg lipsync-mcp --connect-timeout 60/,
  );
  assert.doesNotMatch(body, /openclaw mcp add lipsync -- /);
  for (const p of ['local', 'jogg', 'nemovideo', 'director']) assert.match(body, new RegExp(`\`${p}\``));
});

test('every CLI flag in the skill exists in `lipsync-mcp --help`', () => {
  const res = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(res.status, 0, res.stderr);
  const help = res.stdout;
  // `openclaw mcp add` lines (continuations joined) carry OpenClaw's own flags, not ours.
  const ours = body
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => !l.includes('openclaw mcp add'))
    .join('\n');
  const flags = new Set(ours.match(/(?<![\w-])--[a-z][a-z-]+/g) ?? []);
  assert.ok(flags.size >= 5, `found flags: ${[...flags].join(' ')}`);
  for (const flag of flags) assert.ok(help.includes(flag), `${flag} is used in SKILL.md but not in --help`);
  const commands = new Set([...ours.matchAll(/(?:^|`)lipsync-mcp (\w+)/gm)].map((m) => m[1] as string));
  assert.ok(commands.has('run') && commands.has('doctor'), [...commands].join(' '));
  for (const c of commands) assert.match(help, new RegExp(`lipsync-mcp ${c}\\b`), `command ${c}`);
});
