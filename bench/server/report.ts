/**
 * The workloads of `npm run bench:server`, the table it prints, and where --write records it.
 */
import * as fs from 'fs';
import * as path from 'path';

export type ConfigurationId = 'workspace' | 'iap' | 'floor' | 'peer' | 'floor-tls';

export const CONFIGURATIONS: readonly { id: ConfigurationId; label: string }[] = [
  { id: 'workspace', label: 'a. rendered, workspace user (Basic)' },
  { id: 'iap', label: 'b. rendered, IAP user' },
  { id: 'floor', label: 'c. floor: plain mlflow server' },
  { id: 'peer', label: "d. peer: community chart's basic-auth" },
  // What TLS alone costs: the floor with the rendered server's uvicorn TLS options and certificate.
  // a/e and b/e are what the platform adds on top of TLS, e/c what TLS takes from the floor.
  { id: 'floor-tls', label: 'e. floor with TLS' },
];

export interface Workload {
  readonly id: string;
  readonly label: string;
  readonly kind: 'log-batch' | 'search-runs' | 'upload' | 'download';
  /** Artifact size for the transfers. */
  readonly bytes?: number;
  readonly transfer: boolean;
}

const MB = 2 ** 20;

export const WORKLOADS: readonly Workload[] = [
  { id: 'log-batch', label: 'log-batch (100 metrics)', kind: 'log-batch', transfer: false },
  { id: 'search-runs', label: 'search-runs (filtered, 100 of the seeded runs)', kind: 'search-runs', transfer: false },
  { id: 'upload-10mb', label: 'artifact upload 10 MB', kind: 'upload', bytes: 10 * MB, transfer: true },
  { id: 'download-10mb', label: 'artifact download 10 MB', kind: 'download', bytes: 10 * MB, transfer: true },
  { id: 'upload-100mb', label: 'artifact upload 100 MB', kind: 'upload', bytes: 100 * MB, transfer: true },
  { id: 'download-100mb', label: 'artifact download 100 MB', kind: 'download', bytes: 100 * MB, transfer: true },
];

export interface Measured {
  readonly workload: string;
  readonly configuration: ConfigurationId;
  readonly requests: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly mbPerSecond: number;
  readonly p50: number;
  readonly p99: number;
}

/** The goals of the rendered server (a and b) against the floor and the peer. */
export const GOALS = { ofFloor: 0.8, ofPeer: 3 };

export interface RunInfo {
  readonly seconds: number;
  readonly cpus: string;
  readonly concurrency: number;
  readonly runs: number;
  /** Rounds of every workload; above 1, each figure is the median of its rounds. @default 1 */
  readonly rounds?: number;
  readonly configuration: string;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * One measurement per workload and configuration from several rounds of all of them: the median of
 * each figure (throughput, p50, p99), and the requests and seconds of all rounds together. A round
 * that lacks a measurement another has is an error, not a smaller sample.
 */
export function medianOfRounds(rounds: readonly (readonly Measured[])[]): Measured[] {
  if (rounds.length === 0) throw new Error('medianOfRounds: no rounds');
  return rounds[0].map((first) => {
    const same = rounds.map((round, index) => {
      const found = round.find((m) => m.workload === first.workload && m.configuration === first.configuration);
      if (!found) throw new Error(`round ${index + 1} has no measurement of ${first.workload} for ${first.configuration}`);
      return found;
    });
    const of = (field: 'perSecond' | 'mbPerSecond' | 'p50' | 'p99') => median(same.map((m) => m[field]));
    return {
      workload: first.workload,
      configuration: first.configuration,
      requests: same.reduce((sum, m) => sum + m.requests, 0),
      seconds: same.reduce((sum, m) => sum + m.seconds, 0),
      perSecond: of('perSecond'),
      mbPerSecond: of('mbPerSecond'),
      p50: of('p50'),
      p99: of('p99'),
    };
  });
}

function throughput(m: Measured, transfer: boolean): number {
  return transfer ? m.mbPerSecond : m.perSecond;
}

function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/** The ratio of two throughputs, to two digits. */
export function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a';
}

/** The ratios of the table, as [numerator, denominator]: the goals' (a and b against c and d), then TLS's (e). */
const RATIOS: readonly (readonly [ConfigurationId, ConfigurationId])[] = [
  ['workspace', 'floor'],
  ['iap', 'floor'],
  ['workspace', 'peer'],
  ['iap', 'peer'],
  ['floor-tls', 'floor'],
  ['workspace', 'floor-tls'],
  ['iap', 'floor-tls'],
];

/** A configuration's letter in the table (a. to e.). */
function letter(id: ConfigurationId): string {
  return CONFIGURATIONS.find((c) => c.id === id)!.label[0];
}

/**
 * The markdown table of one run: one row per workload, the configurations and the ratios. The goals
 * are a and b against c and d; e only says how much of a gap to the floor is TLS.
 */
export function formatReport(measured: readonly Measured[], info: RunInfo): string {
  const lines = [
    `Measured by \`npm run bench:server${(info.rounds ?? 1) > 1 ? ` -- --repeat ${info.rounds}` : ''}\` with ${info.configuration}: ${info.cpus}; ${info.concurrency} concurrent callers for the request workloads, 2 for the transfers; ${info.runs} seeded runs; ${(info.rounds ?? 1) > 1 ? `each figure the median of ${info.rounds} rounds; ` : ''}the whole run took ${Math.round(info.seconds)} s.`,
    '',
    `| workload | ${[...CONFIGURATIONS.map((c) => c.label), ...RATIOS.map(([a, b]) => `${letter(a)}/${letter(b)}`)].join(' | ')} |`,
    `|---|${[...CONFIGURATIONS, ...RATIOS].map(() => '---').join('|')}|`,
  ];
  const missed: string[] = [];
  for (const workload of WORKLOADS) {
    const of = (id: ConfigurationId) => {
      const found = measured.find((m) => m.workload === workload.id && m.configuration === id);
      if (!found) throw new Error(`no measurement of ${workload.id} for ${id}`);
      return found;
    };
    const cells = CONFIGURATIONS.map(({ id }) => {
      const m = of(id);
      const rate = workload.transfer ? `${m.mbPerSecond.toFixed(0)} MB/s` : `${m.perSecond.toFixed(0)}/s`;
      return `${rate}, p50 ${ms(m.p50)} ms, p99 ${ms(m.p99)} ms`;
    });
    const t = (id: ConfigurationId) => throughput(of(id), workload.transfer);
    lines.push(`| ${workload.label} | ${[...cells, ...RATIOS.map(([a, b]) => ratio(t(a), t(b)))].join(' | ')} |`);
    for (const id of ['workspace', 'iap'] as const) {
      if (t(id) < GOALS.ofFloor * t('floor')) missed.push(`${workload.id}: ${id} at ${ratio(t(id), t('floor'))} of the floor (goal ${GOALS.ofFloor}×)`);
      if (!workload.transfer && t(id) < GOALS.ofPeer * t('peer'))
        missed.push(`${workload.id}: ${id} at ${ratio(t(id), t('peer'))} of the peer (goal ${GOALS.ofPeer}×)`);
    }
  }
  lines.push(
    '',
    missed.length === 0
      ? `Goals met: a and b at ≥ ${GOALS.ofFloor}× the floor everywhere and ≥ ${GOALS.ofPeer}× the peer on the request workloads.`
      : `Goals missed: ${missed.join('; ')}.`,
  );
  return lines.join('\n');
}

const ROOT = path.resolve(__dirname, '..', '..');
export const RESULTS_FILE = path.join(ROOT, 'bench', 'server-results.md');
const BEGIN = '<!-- bench-server:begin (written by `npm run bench:server -- --write`) -->';
const END = '<!-- bench-server:end -->';

/** The README with the section between the markers replaced by `report`; throws when a marker is missing. */
export function withReport(readme: string, report: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md: the markers ${BEGIN} and ${END} are missing or out of order`);
  return `${readme.slice(0, begin + BEGIN.length)}\n${report}\n${readme.slice(end)}`;
}

/** Records the report in bench/server-results.md and the README's performance section. */
export function writeReport(report: string): void {
  const readmeFile = path.join(ROOT, 'README.md');
  const readme = withReport(fs.readFileSync(readmeFile, 'utf8'), report);
  fs.writeFileSync(RESULTS_FILE, `# bench:server results\n\n${report}\n`);
  fs.writeFileSync(readmeFile, readme);
}
