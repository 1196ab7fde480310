/**
 * Jest reporter for `npm test` (scripts/test.js): writes the counts and the failing tests of the run
 * to the file MLFLOW_GKE_TEST_RESULTS names, and prints nothing. It replaces `--json --outputFile`,
 * whose "Test results written to: FILE" pointed at a file the run then deleted.
 */
'use strict';
const fs = require('fs');

/** The first line of a failure message, without colour codes or the "Error:" jest puts in front. */
function firstLine(message) {
  // eslint-disable-next-line no-control-regex -- colour codes are what is removed
  const plain = String(message ?? '').replace(/\u001b\[[0-9;]*m/g, '');
  const line = plain.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.trim().replace(/^Error: /, '');
}

/** What `npm test` needs of jest's aggregated results: counts, and each failure with its first line. */
function resultsOf(aggregated) {
  const failures = [];
  for (const file of aggregated.testResults) {
    const rel = file.testFilePath ? require('path').relative(process.cwd(), file.testFilePath) : '';
    // A file that did not run (syntax error, failed import): its own failure.
    if (file.testExecError || (file.failureMessage && file.testResults.length === 0))
      failures.push({ name: rel, message: firstLine(file.testExecError?.message ?? file.failureMessage) });
    for (const t of file.testResults)
      if (t.status === 'failed') failures.push({ name: `${rel} › ${[...t.ancestorTitles, t.title].join(' › ')}`, message: firstLine(t.failureMessages[0]) });
  }
  return {
    passed: aggregated.numPassedTests,
    failed: aggregated.numFailedTests + aggregated.numRuntimeErrorTestSuites,
    skipped: aggregated.numPendingTests + aggregated.numTodoTests,
    failures,
  };
}

class ResultsReporter {
  onRunComplete(_contexts, aggregated) {
    const file = process.env.MLFLOW_GKE_TEST_RESULTS;
    if (file) fs.writeFileSync(file, JSON.stringify(resultsOf(aggregated)));
  }
}

module.exports = ResultsReporter;
module.exports.resultsOf = resultsOf;
module.exports.firstLine = firstLine;
