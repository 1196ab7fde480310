/**
 * The policy gate's command line as the docs show it: every `npm run check` line of docs/policy.md
 * runs as written (from a folder holding a render in dist/), JSON output is valid JSON whether it goes
 * to a file or through `npm run -s`, and relative paths are taken from where the command ran.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCheck } from '../policy/cli';
import { writeOutput } from '../synth/output';
import { renderPlatform } from '../synth/render';
import { loadConfig } from '../model/load';
import { PROJECT_ROOT } from './support/render';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-check-'));
  writeOutput(renderPlatform(loadConfig()), path.join(tmp, 'dist'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function check(argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = runCheck(argv, { INIT_CWD: tmp }, { out: (t) => (out += t), err: (t) => (err += t), stdin: () => overlayOutput() });
  return { code, out, err };
}

/** What `kubectl kustomize` of an overlay that changes nothing prints: every manifest of dist/, one stream. */
function overlayOutput(): string {
  const dist = path.join(tmp, 'dist');
  return fs
    .readdirSync(dist)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => fs.readFileSync(path.join(dist, f), 'utf8'))
    .join('---\n');
}

/** `npm run check` lines of the docs' first code block, as argument lists (comments and redirections apart). */
function documentedCommands(): { line: string; argv: string[]; redirect?: string }[] {
  const doc = fs.readFileSync(path.join(PROJECT_ROOT, 'docs', 'policy.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(doc)![1];
  return block
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => /npm run (-s )?check/.test(line))
    .map((line) => {
      const [command, redirect] = line.split(/\s+>\s+/);
      const words = command
        .replace(/^.*npm run (-s )?check( --)?/, '')
        .trim()
        .split(/\s+/)
        .filter(Boolean);
      return { line, argv: words, redirect };
    });
}

describe('npm run check as docs/policy.md shows it', () => {
  test('the docs show at least the default, files, stdin, JSON and --config forms', () => {
    expect(documentedCommands().length).toBeGreaterThanOrEqual(6);
  });

  test.each(documentedCommands().map((c) => [c.line, c] as const))('%s', (_line, { argv, redirect }) => {
    const config = argv.indexOf('--config');
    if (config >= 0) argv[config + 1] = path.join(PROJECT_ROOT, argv[config + 1]);
    const result = check(argv);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    if (redirect) expect(JSON.parse(result.out).ok).toBe(true);
    const output = argv.indexOf('--output');
    if (output >= 0) {
      expect(result.out).toBe('');
      expect(JSON.parse(fs.readFileSync(path.join(tmp, argv[output + 1]), 'utf8')).summary.objects).toBeGreaterThan(0);
    }
  });

  test('an unwritable --output is one line and exit 2, and leaves no partial file', () => {
    const result = check(['--format', 'json', '--output', 'missing/dir/policy.json']);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/^check: --output missing\/dir\/policy\.json: cannot write: ENOENT/);
    expect(fs.existsSync(path.join(tmp, 'missing'))).toBe(false);
  });
});
