/**
 * Jest transformer: TypeScript to CommonJS with esbuild. Type-checking is `tsc --noEmit` in
 * `npm test`; here only speed matters (the generated imports/ are large).
 */
'use strict';
const crypto = require('crypto');
const esbuild = require('esbuild');

const OPTIONS = { loader: 'ts', format: 'cjs', target: 'node20', sourcemap: 'inline' };

module.exports = {
  process(source, filename) {
    const { code } = esbuild.transformSync(source, { ...OPTIONS, sourcefile: filename });
    return { code };
  },
  getCacheKey(source, filename) {
    return crypto.createHash('sha1').update(esbuild.version).update(JSON.stringify(OPTIONS)).update(filename).update(source).digest('hex');
  },
};
