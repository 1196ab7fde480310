#!/usr/bin/env node
/**
 * `npm run synth`: runs main.ts without type-checking (that belongs to `npm test`). The TypeScript
 * sources are bundled with esbuild into node_modules/.cache once, and again whenever a source file is
 * newer than the bundle; starting one bundled file is much faster than transpiling on every start.
 * V8's code cache for the bundle is kept beside it, so later starts skip most of the compiling.
 */
'use strict';
const fs = require('fs');
const { createRequire } = require('module');
const path = require('path');
const vm = require('vm');

const root = path.resolve(__dirname, '..');
const bundle = path.join(root, 'node_modules', '.cache', 'mlflow-gke', 'synth.js');
const SOURCES = ['main.ts', 'common', 'charts', 'config', 'imports', 'package-lock.json'];

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

const codeCache = `${bundle}.v8cache`;

const built = fs.statSync(bundle, { throwIfNoEntry: false });
if (!built || built.mtimeMs < newestSource()) {
  fs.rmSync(codeCache, { force: true });
  fs.mkdirSync(path.dirname(bundle), { recursive: true });
  const tmp = `${bundle}.${process.pid}.tmp`;
  require('esbuild').buildSync({
    entryPoints: [path.join(root, 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    outfile: tmp,
    // Smaller source to read at every start. Names are not kept: keeping them wraps every function
    // and class in a helper call, which cost a tenth of the time with hundreds of workspaces.
    minify: true,
    logLevel: 'warning',
  });
  fs.renameSync(tmp, bundle);
}
runBundle();

/**
 * Runs the bundle as a CommonJS module, with V8's code cache when one was saved. Public APIs only: the
 * CommonJS wrapper is written out here, `require` comes from `module.createRequire`, and the cache
 * goes through `vm.Script`'s `cachedData`.
 */
function runBundle() {
  const cachedData = fs.existsSync(codeCache) ? fs.readFileSync(codeCache) : undefined;
  const source = `(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(bundle, 'utf8')}\n})`;
  const script = new vm.Script(source, { filename: bundle, cachedData });
  const bundleModule = { exports: {} };
  // Saved after the run, so the functions the render compiled lazily are in the cache too.
  if (!cachedData || script.cachedDataRejected)
    process.once('exit', () => {
      const tmp = `${codeCache}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, codeCache);
    });
  script.runInThisContext()(bundleModule.exports, createRequire(bundle), bundleModule, bundle, path.dirname(bundle));
}
