/**
 * Jest reporter: when tests were skipped for want of schema files (support/strict-tests.ts puts
 * SKIP_MARK in their names), prints one banner for the whole run with how many, and how to get the
 * schemas. Jest runs reporters as they are, without the TypeScript transform: hence plain JavaScript.
 */
'use strict';

const SKIP_MARK = '[skipped: schemas missing]';

/** Skipped tests whose name, or the name of a describe block around them, carries the mark. */
function countSchemaSkips(aggregatedResults) {
  return aggregatedResults.testResults
    .flatMap((file) => file.testResults)
    .filter((t) => t.status === 'pending' && [...t.ancestorTitles, t.title].some((name) => name.includes(SKIP_MARK))).length;
}

function banner(skipped) {
  const bar = '!'.repeat(78);
  return [
    '',
    bar,
    `!! ${skipped} STRICT SCHEMA CHECK${skipped === 1 ? '' : 'S'} SKIPPED: the schema files they need are missing.`,
    '!! Looked in $MLFLOW_GKE_SCHEMAS, else ../shared/schemas beside the project, else the cache',
    '!! `npm run schemas` fills (${XDG_CACHE_HOME:-~/.cache}/mlflow-gke/schemas/).',
    '!! Get them with `npm run schemas` (pinned upstream files, checked by sha256), then test again.',
    '!! Until then rendered objects are checked only against the kubernetes-models packages,',
    '!! which accept unknown fields and do not know every kind.',
    bar,
    '',
  ].join('\n');
}

class SchemaSkipsReporter {
  onRunComplete(_testContexts, aggregatedResults) {
    const skipped = countSchemaSkips(aggregatedResults);
    if (skipped > 0) process.stderr.write(`${banner(skipped)}\n`);
  }
}

module.exports = SchemaSkipsReporter;
module.exports.SKIP_MARK = SKIP_MARK;
module.exports.countSchemaSkips = countSchemaSkips;
