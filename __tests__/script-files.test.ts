import * as fs from 'fs';
import * as path from 'path';
import { findProjectRoot, scriptFile } from '../charts/lib/script-files';
import { PROJECT_ROOT } from './support/render';

describe('script files are found from wherever the chart code runs', () => {
  test('from the sources (jest, tsx)', () => {
    expect(findProjectRoot(path.join(PROJECT_ROOT, 'charts', 'lib'))).toBe(PROJECT_ROOT);
  });

  test('from the synth bundle in node_modules/.cache/mlflow-gke, past other packages', () => {
    // scripts/synth.js runs the bundle from there; the folder need not exist yet.
    expect(findProjectRoot(path.join(PROJECT_ROOT, 'node_modules', '.cache', 'mlflow-gke'))).toBe(PROJECT_ROOT);
    // A dependency's own package.json on the way up is not the project's.
    expect(findProjectRoot(path.join(PROJECT_ROOT, 'node_modules', 'esbuild', 'lib'))).toBe(PROJECT_ROOT);
  });

  test('outside the project it says so', () => {
    expect(() => findProjectRoot('/')).toThrow(/no mlflow-gke package\.json at or above \//);
  });

  test('a script is read byte for byte', () => {
    const file = 'charts/postgres/dump.sh';
    expect(scriptFile(file)).toBe(fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8'));
  });
});
