#!/usr/bin/env node
/**
 * `npm run synth`: runs main.ts without type-checking (that belongs to `npm test`). The TypeScript
 * sources are bundled with esbuild into node_modules/.cache once, and again whenever one of the files
 * the bundle was built from (as esbuild's metafile lists them, so no list is kept by hand) or the
 * lockfile is newer than the bundle; starting one bundled file is much faster than transpiling on
 * every start. V8's code cache for the bundle is kept beside it, so later starts skip most of the
 * compiling.
 */
'use strict';
const fs = require('fs');
const { createRequire } = require('module');
const path = require('path');
const vm = require('vm');

const root = path.resolve(__dirname, '..');
const bundle = path.join(root, 'node_modules', '.cache', 'mlflow-gke', 'synth.js');
/** The project files the bundle was built from, relative to the root; written with the bundle. */
const inputsFile = `${bundle}.inputs.json`;
const codeCache = `${bundle}.v8cache`;

/** Whether the bundle is missing or older than one of its inputs (dependencies change with the lockfile). */
function stale() {
  const built = fs.statSync(bundle, { throwIfNoEntry: false });
  if (!built || !fs.existsSync(inputsFile)) return true;
  const inputs = [...JSON.parse(fs.readFileSync(inputsFile, 'utf8')), 'package-lock.json'];
  return inputs.some((input) => {
    const stat = fs.statSync(path.join(root, input), { throwIfNoEntry: false });
    return !stat || Math.max(stat.mtimeMs, stat.ctimeMs) > built.mtimeMs;
  });
}

/**
 * zod's `z.locales` namespace re-exports every translation of its messages (about a fifth of the
 * bundle); the project reads only the English ones, which zod imports by themselves
 * (zod/v4/classic/schemas.js: `import en from "../locales/en.js"`). The namespace resolves to an
 * empty module, so every start reads and compiles less.
 */
const withoutZodLocales = {
  name: 'without-zod-locales',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic[\\/]external|core[\\/]index)\.js$/.test(args.importer) ? { path: 'zod-locales', namespace: 'empty' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

/** Bundles main.ts and what it imports (esbuild's plugins need its asynchronous API). */
async function buildBundle() {
  fs.rmSync(codeCache, { force: true });
  fs.mkdirSync(path.dirname(bundle), { recursive: true });
  const tmp = `${bundle}.${process.pid}.tmp`;
  const result = await require('esbuild').build({
    absWorkingDir: root,
    entryPoints: ['main.ts'],
    bundle: true,
    platform: 'node',
    target: 'node20',
    outfile: tmp,
    metafile: true,
    // Smaller source to read at every start. Names are not kept: keeping them wraps every function
    // and class in a helper call, which cost a tenth of the time with hundreds of workspaces.
    minify: true,
    logLevel: 'warning',
    plugins: [withoutZodLocales],
  });
  const inputs = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('node_modules/') && !input.startsWith('empty:'));
  fs.writeFileSync(`${inputsFile}.${process.pid}.tmp`, JSON.stringify(inputs.sort()));
  fs.renameSync(`${inputsFile}.${process.pid}.tmp`, inputsFile);
  fs.renameSync(tmp, bundle);
}

if (stale())
  buildBundle().then(runBundle, (error) => {
    console.error(`synth: bundling failed: ${error.message}`);
    process.exitCode = 1;
  });
else runBundle();

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
