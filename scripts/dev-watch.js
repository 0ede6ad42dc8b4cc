#!/usr/bin/env node
'use strict';
/**
 * skaffold's dev loop inside the pod: transpiles src/**\/*.ts to dist/ file by
 * file as skaffold syncs them. No type check (the build and the tests do that),
 * so it fits the pod's memory limit, where a full `tsc --watch` does not.
 */
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const root = process.argv[2] ?? process.cwd();
const srcDir = path.join(root, 'src');
const outDir = path.join(root, 'dist');
const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };

function transpile(file) {
  const out = path.join(outDir, path.relative(srcDir, file)).replace(/\.ts$/, '.js');
  const { outputText } = ts.transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions, fileName: file });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, outputText);
}

function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full);
    else if (full.endsWith('.ts') && !full.endsWith('.d.ts')) transpile(full);
  }
}

walk(srcDir);
console.log(`dev-watch: transpiled ${srcDir} into ${outDir}; watching`);
fs.watch(srcDir, { recursive: true }, (_event, name) => {
  const file = name && path.join(srcDir, name.toString());
  if (!file || !file.endsWith('.ts') || !fs.existsSync(file)) return;
  try {
    transpile(file);
    console.log(`dev-watch: ${path.relative(root, file)}`);
  } catch (err) {
    console.error(`dev-watch: ${path.relative(root, file)}: ${err.message}`);
  }
});
