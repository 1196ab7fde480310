/**
 * `npm run check [-- PATH... | -] [--format text|json] [--output FILE] [--external Kind/namespace/name]
 * [--external-namespace NAME] [--config FILE] [--quiet] [--verbose]`: the policy gate over rendered (or overlaid) YAML.
 * Exit status 0 when there is no error (warnings allowed), 1 on any error, 2 on bad usage or input.
 * Relative paths are taken from the folder the command ran in (npm passes it as INIT_CWD).
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkObjects } from './check';
import { InputError, loadPaths } from './load';
import { formatGroupedText, formatJson, formatText, summarize } from './report';
import { ENGINE_RULES, RULES } from './rules';

export interface CheckCliOptions {
  readonly paths: string[];
  readonly format: 'text' | 'json';
  readonly externalObjects: string[];
  readonly externalNamespaces: string[];
  readonly config?: string;
  /** Print errors only; the summary still counts warnings. */
  readonly quiet: boolean;
  /** Text: print each warning on its own line instead of one line per rule. */
  readonly verbose: boolean;
  /** Write the report to this file instead of stdout (npm prints its own banner on stdout). */
  readonly output?: string;
}

const USAGE =
  'usage: npm run check -- [PATH... | -] [--format text|json] [--output FILE] [--external Kind/namespace/name] [--external-namespace NAME] [--config FILE] [--quiet] [--verbose]';

export class UsageError extends Error {}

/** The config schema is loaded only when `--config` is given: it is most of the start-up time. */
function configLoader(): typeof import('../model/load') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily: see above
  return require('../model/load');
}

export function parseCheckArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): CheckCliOptions {
  const paths: string[] = [];
  const externalObjects: string[] = [];
  const externalNamespaces: string[] = [];
  let format: 'text' | 'json' = 'text';
  let quiet = false;
  let verbose = false;
  let output: string | undefined;
  let config = env.MLFLOW_GKE_CONFIG || undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-' || !arg.startsWith('-')) {
      paths.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw new UsageError(`check: ${flag} needs a value\n${USAGE}`);
      return v;
    };
    const list = () =>
      value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    if (flag === '--format' || flag === '-f') {
      const v = value();
      if (v !== 'text' && v !== 'json') throw new UsageError(`check: --format "${v}" is not allowed: text or json`);
      format = v;
    } else if (flag === '--external') {
      for (const ref of list()) {
        const parts = ref.split('/');
        if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === ''))
          throw new UsageError(
            `check: --external "${ref}" is not allowed: Kind/namespace/name (namespaced) or Kind/name (cluster-scoped); * matches any segment`,
          );
        externalObjects.push(ref);
      }
    } else if (flag === '--external-namespace') externalNamespaces.push(...list());
    else if (flag === '--config' || flag === '-c') config = value();
    else if (flag === '--quiet' || flag === '-q') quiet = true;
    else if (flag === '--verbose' || flag === '-v') verbose = true;
    else if (flag === '--output' || flag === '-o') output = value();
    else if (flag === '--help' || flag === '-h') throw new UsageError(USAGE);
    else throw new UsageError(`check: unknown argument "${arg}"\n${USAGE}`);
  }
  return { paths: paths.length > 0 ? paths : ['dist'], format, externalObjects, externalNamespaces, config, quiet, verbose, output };
}

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly stdin?: () => string;
}

export function runCheck(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) },
): number {
  try {
    const options = parseCheckArgs(argv, env);
    const base = env.INIT_CWD || process.cwd();
    const externalNamespaces = [...options.externalNamespaces];
    // The config's external namespaces exist outside the render by definition.
    if (options.config) externalNamespaces.push(...configLoader().loadConfig(path.resolve(base, options.config), options.config).namespaces.external);
    const loaded = loadPaths(options.paths, io.stdin, base);
    // An empty input passing would hide a failed `kubectl kustomize` at the head of a pipe.
    if (loaded.objects.length === 0 && loaded.problems.length === 0) throw new InputError(`check: no Kubernetes object in ${options.paths.join(', ')}`);
    const findings = [...loaded.problems, ...checkObjects(loaded.objects, { external: { namespaces: externalNamespaces, objects: options.externalObjects } })];
    const summary = summarize(findings, loaded.objects.length, loaded.files.length);
    const shown = options.quiet ? findings.filter((f) => f.severity === 'error') : findings;
    const report =
      options.format === 'json'
        ? formatJson(shown, summary)
        : options.verbose || options.quiet
          ? formatText(shown, summary)
          : formatGroupedText(shown, summary, (rule) => RULE_REQUIRES.get(rule));
    if (options.output) writeReport(path.resolve(base, options.output), options.output, report);
    else io.out(report);
    return summary.errors > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof InputError) {
      io.err(`${error.message}\n`);
      return 2;
    }
    if (error instanceof Error && error.name === 'ConfigError') {
      io.err(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

/** What each rule requires, one sentence: the explanation of a group of warnings. */
const RULE_REQUIRES: ReadonlyMap<string, string> = new Map([...RULES, ...ENGINE_RULES].map((r) => [r.id, r.requires]));

/** Writes the report whole or not at all: beside the file first, then renamed over it. */
function writeReport(file: string, shown: string, report: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, report);
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw new InputError(`check: --output ${shown}: cannot write: ${(error as Error).message.split('\n')[0]}`);
  }
}

if (require.main === module) process.exitCode = runCheck(process.argv.slice(2));
