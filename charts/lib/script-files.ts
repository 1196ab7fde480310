/**
 * Scripts that pods run are real files in the repository, beside the chart that uses them (shellcheck
 * lints them in `npm test`, the live tests run them against PostgreSQL), and are inlined into the
 * manifests at synth. They are read relative to the project root, found by walking up from this
 * module, because the same code runs from charts/lib (jest, tsx) and bundled from
 * node_modules/.cache/mlflow-gke (`npm run synth`).
 */
import * as fs from 'fs';
import * as path from 'path';

const PACKAGE_NAME = 'mlflow-gke';
const texts = new Map<string, string>();
let root: string | undefined;

/** The nearest folder at or above `from` whose package.json names this project. */
export function findProjectRoot(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        if (JSON.parse(fs.readFileSync(manifest, 'utf8')).name === PACKAGE_NAME) return dir;
      } catch {
        // another package.json, or not JSON: keep walking up
      }
    }
    if (path.dirname(dir) === dir) throw new Error(`no ${PACKAGE_NAME} package.json at or above ${from}`);
  }
}

/** Text of a script file, by its path from the project root (`charts/postgres/dump.sh`); read once per process. */
export function scriptFile(relativePath: string): string {
  let text = texts.get(relativePath);
  if (text === undefined) {
    root ??= findProjectRoot(__dirname);
    text = fs.readFileSync(path.join(root, relativePath), 'utf8');
    texts.set(relativePath, text);
  }
  return text;
}

/**
 * A script file run by bash, `$0` its file name (so its messages name it) and `args` its arguments,
 * as one command (the container's whole command line).
 */
export function bashScriptCommand(file: string, ...args: string[]): { command: string[] } {
  const { command, args: rest } = bashScript(file, ...args);
  return { command: [...command, ...rest] };
}

/** The same, split as a container's command (`bash -c`) and args (the script, `$0`, its arguments). */
export function bashScript(file: string, ...args: string[]): { command: string[]; args: string[] } {
  return { command: ['bash', '-c'], args: [scriptFile(file), file.slice(file.lastIndexOf('/') + 1), ...args] };
}
