#!/usr/bin/env node
/**
 * `npm run synth`: runs main.ts without type-checking (that belongs to `npm test`). The TypeScript
 * sources are bundled with esbuild into node_modules/.cache once, and again whenever a source file is
 * newer than the bundle; starting one bundled file is much faster than transpiling on every start.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const bundle = path.join(root, 'node_modules', '.cache', 'mlflow-gke', 'synth.js');
const SOURCES = ['main.ts', 'charts', 'config', 'imports', 'package-lock.json'];

function newestSource() {
  let newest = 0;
  const visit = (p) => {
    const stat = fs.statSync(p, { throwIfNoEntry: false });
    if (!stat) return;
    newest = Math.max(newest, stat.mtimeMs, stat.ctimeMs);
    if (stat.isDirectory()) for (const entry of fs.readdirSync(p)) visit(path.join(p, entry));
  };
  SOURCES.forEach((s) => visit(path.join(root, s)));
  return newest;
}

const built = fs.statSync(bundle, { throwIfNoEntry: false });
if (!built || built.mtimeMs < newestSource()) {
  fs.mkdirSync(path.dirname(bundle), { recursive: true });
  const tmp = `${bundle}.${process.pid}.tmp`;
  require('esbuild').buildSync({
    entryPoints: [path.join(root, 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    outfile: tmp,
    logLevel: 'warning',
  });
  fs.renameSync(tmp, bundle);
}
require(bundle);
