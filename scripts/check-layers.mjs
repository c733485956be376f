#!/usr/bin/env node
// Import rules between layers (design.md section 2): cli -> server -> tools -> jobs -> providers -> http.
// Every import is read from the TypeScript syntax tree — `import`, `export … from`, `import()`,
// `require()`, `import x = require()` — and checked against one allow-list per folder (as Playwright's
// DEPS check does): a folder may import only what its list names. Only src/config.ts reads process.env.
// Usage: node scripts/check-layers.mjs [root]   (root defaults to the current folder)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

/** Per folder: the folders/files (repo-relative, no extension) and packages it may import. node: builtins are always allowed. */
export const DEPS = {
  'src/http': [
    'src/clock',
    'src/errors',
    'src/logger',
    'src/redact',
    'src/http',
    'undici',
    'eventsource-parser',
  ],
  'src/media': ['src/clock', 'src/config', 'src/errors', 'src/names', 'src/json', 'src/util', 'src/media'],
  'src/util': ['src/util'],
  'src/providers': [
    'src/clock',
    'src/config',
    'src/errors',
    'src/logger',
    'src/names',
    'src/json',
    'src/util',
    'src/redact',
    'src/http',
    'src/media',
    'src/providers',
    'zod',
  ],
  'src/jobs': [
    'src/clock',
    'src/config',
    'src/errors',
    'src/logger',
    'src/names',
    'src/json',
    'src/util',
    'src/redact',
    'src/http',
    'src/media',
    'src/providers',
    'src/jobs',
    'better-sqlite3',
    'pg',
  ],
  tools: [
    'src/config',
    'src/errors',
    'src/logger',
    'src/names',
    'src/json',
    'src/util',
    'src/redact',
    'src/jobs',
    'tools',
    'zod',
    '@modelcontextprotocol/server',
    '@modelcontextprotocol/ext-apps',
  ],
  'src/http-server': ['src', 'tools', '@modelcontextprotocol/server', '@modelcontextprotocol/node', 'jose'],
  // The MCP surface beyond tools (resources, subscriptions, prompts, the MCP App viewer).
  'src/mcp': ['src', 'tools', '@modelcontextprotocol/server', '@modelcontextprotocol/ext-apps', 'zod'],
  // The CLI's demo drives the server as a client does.
  'src/cli': ['src', 'tools', '@modelcontextprotocol/server', '@modelcontextprotocol/client'],
  // The composition root (app.ts, server.ts, cli.ts) and the leaf modules beside it.
  src: ['src', 'tools', '@modelcontextprotocol/server', 'pino', 'zod'],
};

/**
 * Imports that break the rules today, each to be fixed in its own issue (design.md: media imports
 * nothing from providers/; tools import no provider type). Reported, not failed, so they stay visible.
 */
export const KNOWN = {};

const ENV_FILE = 'src/config.ts';

function listTs(root, dir) {
  const out = [];
  const abs = join(root, dir);
  if (!existsSync(abs)) return out;
  for (const name of readdirSync(abs).sort()) {
    const rel = posix.join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) out.push(...listTs(root, rel));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Every module specifier in a file, with its line, from the syntax tree. */
export function importsOf(file, text) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found = [];
  let readsEnv = false;
  const add = (node) => {
    if (node && ts.isStringLiteralLike(node))
      found.push({ spec: node.text, line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    else if (node)
      found.push({ spec: null, line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  };
  const visit = (n) => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier) add(n.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference))
      add(n.moduleReference.expression);
    else if (ts.isCallExpression(n)) {
      const callee = n.expression;
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if (isImport || isRequire) add(n.arguments[0]);
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument)) add(n.argument.literal);
    if (
      ts.isPropertyAccessExpression(n) &&
      ts.isIdentifier(n.expression) &&
      n.expression.text === 'process' &&
      n.name.text === 'env'
    )
      readsEnv = true;
    if (
      ts.isElementAccessExpression(n) &&
      ts.isIdentifier(n.expression) &&
      n.expression.text === 'process' &&
      ts.isStringLiteralLike(n.argumentExpression) &&
      n.argumentExpression.text === 'env'
    )
      readsEnv = true;
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { imports: found, readsEnv };
}

/** The most specific DEPS folder a file belongs to. */
function ruleFor(file) {
  const dirs = Object.keys(DEPS).sort((a, b) => b.length - a.length);
  return dirs.find((d) => file.startsWith(`${d}/`));
}

/** What an import names: a repo-relative path without extension, or a package name. */
function target(file, spec) {
  if (spec.startsWith('.'))
    return posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.(js|ts|mjs)$/, '');
  if (spec.startsWith('node:')) return spec;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const allows = (entry, t) => t === entry || t.startsWith(`${entry}/`);

export function checkLayers(root) {
  const files = [...listTs(root, 'src'), ...listTs(root, 'tools')];
  const problems = [];
  const known = [];
  for (const file of files) {
    const { imports, readsEnv } = importsOf(file, readFileSync(join(root, file), 'utf8'));
    if (readsEnv && file !== ENV_FILE) problems.push(`${file}: reads process.env (only ${ENV_FILE} may)`);
    const rule = ruleFor(file);
    for (const { spec, line } of imports) {
      if (spec === null) {
        problems.push(`${file}:${line}: an import whose target is not a string literal (cannot be checked)`);
        continue;
      }
      const t = target(file, spec);
      if (t.startsWith('node:')) continue;
      if (!rule) {
        problems.push(`${file}:${line}: no DEPS entry for this folder`);
        continue;
      }
      if (DEPS[rule].some((entry) => allows(entry, t))) continue;
      if (KNOWN[file]?.includes(t)) {
        known.push(`${file}:${line}: ${spec}`);
        continue;
      }
      problems.push(`${file}:${line}: ${rule}/ may not import ${spec} (allowed: ${DEPS[rule].join(', ')})`);
    }
  }
  return { files: files.length, problems, known };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = process.argv[2] ?? '.';
  const { files, problems, known } = checkLayers(root);
  if (known.length)
    console.log(`layer check: ${known.length} known exception(s), to fix:\n  ${known.join('\n  ')}`);
  if (problems.length) {
    console.error(`layer check failed:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`layer check: ${files} files ok`);
}
