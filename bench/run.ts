/**
 * `npm run bench`: wall time and peak memory of the library floor, synth with the embedded default,
 * synth with 10/100/500 per-user workspaces and the whole test suite (median of several runs after a
 * warm-up), plus the cluster footprint of every example config. Prints the results; with --write it
 * also writes bench/results.md and refreshes the README section that quotes it.
 *
 * Options: --runs N (default 5), --skip-tests (leave out the test suite, which takes the longest),
 * --write (record the results; refused with --skip-tests, so a recorded table is never partial).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { DEFAULT_CONFIG } from '../config/default';
import { footprintTable } from './footprint-table';

const ROOT = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 5;
const SKIP_TESTS = args.includes('--skip-tests');
const WRITE = args.includes('--write');
const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

interface Measure {
  label: string;
  seconds: number;
  peakMiB?: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** One run of a command: wall time, and peak RSS from GNU time. */
function runOnce(label: string, command: string[]): { seconds: number; kb: number } {
  const argv = TIME ? [TIME, '-f', '%M', ...command] : command;
  const start = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${label}: ${command.join(' ')} failed:\n${r.stderr.slice(-2000)}`);
  const kb = TIME ? Number(r.stderr.trim().split('\n').pop()) : NaN;
  return { seconds, kb };
}

function summary(label: string, results: { seconds: number; kb: number }[]): Measure {
  const peak = Math.max(...results.map((r) => r.kb));
  process.stderr.write(`  ${label}: ${median(results.map((r) => r.seconds)).toFixed(3)} s\n`);
  return { label, seconds: median(results.map((r) => r.seconds)), peakMiB: Number.isFinite(peak) ? peak / 1024 : undefined };
}

/** Runs a command `runs` times after one warm-up; median wall time, and peak RSS from GNU time. */
function measure(label: string, command: string[], runs = RUNS): Measure {
  runOnce(label, command);
  return summary(
    label,
    Array.from({ length: runs }, () => runOnce(label, command)),
  );
}

/**
 * Two commands in alternation, `runs` pairs after a warm-up of each, so that a slower stretch of a
 * shared machine falls on both alike: each one's median, and the median of the pairs' ratios b / a.
 */
function measurePaired(a: { label: string; command: string[] }, b: { label: string; command: string[] }): { a: Measure; b: Measure; ratio: number } {
  runOnce(a.label, a.command);
  runOnce(b.label, b.command);
  const pairs = Array.from({ length: RUNS }, () => [runOnce(a.label, a.command), runOnce(b.label, b.command)] as const);
  return {
    a: summary(
      a.label,
      pairs.map(([x]) => x),
    ),
    b: summary(
      b.label,
      pairs.map(([, y]) => y),
    ),
    ratio: median(pairs.map(([x, y]) => y.seconds / x.seconds)),
  };
}

function usersConfig(dir: string, users: number): string {
  const config = structuredClone(DEFAULT_CONFIG);
  config.workspaces = {
    users: Array.from({ length: users }, (_, i) => ({ name: `user${String(i).padStart(3, '0')}`, email: `user${i}@example.com` })),
  };
  const file = path.join(dir, `users-${users}.yaml`);
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

function main(): void {
  if (WRITE && SKIP_TESTS) {
    process.stderr.write('bench: --write records the whole table; drop --skip-tests (or leave out --write to only print)\n');
    process.exitCode = 1;
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-bench-'));
  try {
    process.stderr.write(`bench: ${RUNS} runs after a warm-up, ${os.cpus().length} cores\n`);
    const out = path.join(tmp, 'dist');
    const paired = measurePaired(
      { label: "floor: node -e \"require('cdk8s');require('cdk8s-plus-27')\"", command: ['node', '-e', "require('cdk8s');require('cdk8s-plus-27')"] },
      { label: 'npm run synth (embedded default)', command: ['npm', 'run', '-s', 'synth', '--', '--out', out] },
    );
    const { a: floor, b: synth } = paired;
    const scaled = [10, 100, 500].map((n) => ({
      n,
      m: measure(`npm run synth, ${n} users`, ['npm', 'run', '-s', 'synth', '--', '--config', usersConfig(tmp, n), '--out', out]),
    }));
    const tests = SKIP_TESTS ? undefined : measure('npm test (whole suite)', ['npm', 'test', '--', '--silent'], Math.min(RUNS, 3));

    // Least squares over (users, seconds): the per-user increment and how linear the growth is.
    const xs = scaled.map((s) => s.n);
    const ys = scaled.map((s) => s.m.seconds);
    const mx = xs.reduce((a, b) => a + b) / xs.length;
    const my = ys.reduce((a, b) => a + b) / ys.length;
    const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    const ssTot = ys.reduce((a, y) => a + (y - my) ** 2, 0);
    const ssRes = ys.reduce((a, y, i) => a + (y - (my + slope * (xs[i] - mx))) ** 2, 0);
    const r2 = ssTot === 0 ? 1 : 1 - ssRes / ssTot;

    const row = (m: Measure, goal = '', ratio = m.seconds / floor.seconds) =>
      `| ${m.label} | ${m.seconds.toFixed(3)} | ${m.peakMiB ? m.peakMiB.toFixed(0) : 'n/a'} | ${ratio.toFixed(2)}× | ${goal} |`;
    const synth500 = scaled[2].m.seconds;
    const lines = [
      `Measured by \`npm run bench\` on ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}: median of ${RUNS} runs after a warm-up; the floor and the default synth alternate, run for run.`,
      '',
      '| what | median wall (s) | peak RSS (MiB) | × floor | goal |',
      '| --- | ---: | ---: | ---: | --- |',
      row(floor),
      // The default synth's ratio is the median of paired runs (measurePaired), the others' the ratio of medians.
      row(synth, `≤ 2.5× floor (paired): ${paired.ratio <= 2.5 ? 'met' : 'MISSED'}`, paired.ratio),
      ...scaled.map((s, i) =>
        row(s.m, i === 2 ? `≤ 5× default synth (${(synth500 / synth.seconds).toFixed(2)}×): ${synth500 / synth.seconds <= 5 ? 'met' : 'MISSED'}` : ''),
      ),
      ...(tests ? [row(tests, `≤ 60 s: ${tests.seconds <= 60 ? 'met' : 'MISSED'}`)] : []),
      '',
      `Per-user increment: ${(slope * 1000).toFixed(2)} ms per user (least squares over 10/100/500 users, R² = ${r2.toFixed(3)}).`,
      '',
      '### Cluster footprint',
      '',
      'Workloads that run all the time (Deployments and StatefulSets at their configured replicas); the largest single Job or CronJob run is listed apart.',
      '',
      ...footprintTable(),
      '',
    ];
    const text = lines.join('\n');
    process.stdout.write(`${text}\n`);
    if (WRITE) {
      fs.writeFileSync(path.join(ROOT, 'bench', 'results.md'), text);
      updateReadme(text);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const BEGIN = '<!-- bench:begin (written by `npm run bench -- --write`) -->';
const END = '<!-- bench:end -->';

function updateReadme(text: string): void {
  const file = path.join(ROOT, 'README.md');
  const readme = fs.readFileSync(file, 'utf8');
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) return;
  fs.writeFileSync(file, `${readme.slice(0, start)}${BEGIN}\n${text}${readme.slice(end)}`);
}

main();
