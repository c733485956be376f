#!/usr/bin/env node
// Size report (issue 28): files over a line limit, functions over a line limit, and import cycles
// between modules, in src/ and tools/. Functions are read from the TypeScript syntax tree (declarations,
// methods, accessors, constructors, function expressions and arrow functions), counted from their first
// to their last line; imports as the layer check reads them (type-only imports included).
// Usage: node scripts/sizes.mjs [--file-lines 400] [--function-lines 80] [root]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';
import { importsOf } from './check-layers.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const [, v] = args.splice(i, 2);
  return Number(v);
};
const fileLimit = opt('--file-lines', 400);
const fnLimit = opt('--function-lines', 80);
const root = args[0] ?? '.';

function listTs(dir) {
  const abs = join(root, dir);
  let names;
  try {
    names = readdirSync(abs).sort();
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const rel = posix.join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) return listTs(rel);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [rel] : [];
  });
}

function nameOf(node) {
  if (node.name && ts.isIdentifier(node.name)) return node.name.text;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const p = node.parent;
  if (p && ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) return p.name.text;
  if (p && ts.isPropertyAssignment(p) && ts.isIdentifier(p.name)) return p.name.text;
  return '(anonymous)';
}

const files = [];
const functions = [];
const all = [...listTs('src'), ...listTs('tools')];
const graph = new Map();
for (const file of all) {
  const text = readFileSync(join(root, file), 'utf8');
  graph.set(
    file,
    importsOf(file, text)
      .imports.filter((i) => i.spec?.startsWith('.'))
      .map((i) => posix.normalize(posix.join(posix.dirname(file), i.spec)).replace(/\.js$/, '.ts')),
  );
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > fileLimit) files.push({ file, lines });
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const visit = (n) => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart()).line;
      const last = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      if (last - first + 1 > fnLimit)
        functions.push({ at: `${file}:${first + 1}`, name: nameOf(n), lines: last - first + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
files.sort((a, b) => b.lines - a.lines);
functions.sort((a, b) => b.lines - a.lines);
console.log(`files over ${fileLimit} lines: ${files.length}`);
for (const f of files) console.log(`  ${f.lines}  ${f.file}`);
console.log(`functions over ${fnLimit} lines: ${functions.length}`);
for (const f of functions) console.log(`  ${f.lines}  ${f.name}  ${f.at}`);

/** Groups of modules that import each other, directly or around a circle (Tarjan's components). */
function cycles() {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const groups = [];
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const group = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1) groups.push(group.sort());
  };
  for (const f of graph.keys()) if (!index.has(f)) visit(f);
  return groups;
}
const circles = cycles();
console.log(`import cycles: ${circles.length}`);
for (const c of circles) console.log(`  ${c.join(' <-> ')}`);
