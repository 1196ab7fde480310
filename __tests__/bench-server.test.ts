/**
 * `npm run bench:server`'s own logic: its options, the table it prints and where --write records it.
 * The run itself starts real servers for minutes and is not part of the suite; these parts decide
 * what its figures say.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseOptions } from '../bench/server/options';
import { CONFIGURATIONS, formatReport, Measured, medianOfRounds, ratio, withReport, WORKLOADS } from '../bench/server/report';
import { peerAuthIni, PEER_ARGS } from '../bench/server/plain-server';
import { PROJECT_ROOT } from './support/render';

const INFO = { seconds: 200, cpus: 'server on 1 core', concurrency: 8, runs: 2000, configuration: 'the embedded default config' };

/** Measurements where each configuration runs at `rates[id]` requests a second. */
function measured(rates: Record<string, number>): Measured[] {
  return WORKLOADS.flatMap((w) =>
    CONFIGURATIONS.map(({ id }) => ({
      workload: w.id,
      configuration: id,
      requests: 100,
      seconds: 100 / rates[id],
      perSecond: rates[id],
      mbPerSecond: (rates[id] * (w.bytes ?? 1000)) / 2 ** 20,
      p50: 10,
      p99: 20,
    })),
  );
}

describe('the report', () => {
  test('one row per workload with the five configurations and the ratios a/c, b/c, a/d, b/d, e/c, a/e, b/e', () => {
    const report = formatReport(measured({ workspace: 90, iap: 80, floor: 100, peer: 10, 'floor-tls': 95 }), INFO);
    expect(report).toContain('| a/c | b/c | a/d | b/d | e/c | a/e | b/e |');
    expect(report).toContain('| e. floor with TLS |');
    const rows = report.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| workload'));
    expect(rows).toHaveLength(WORKLOADS.length);
    for (const row of rows) expect(row).toMatch(/ \| 0\.90× \| 0\.80× \| 9\.00× \| 8\.00× \| 0\.95× \| 0\.95× \| 0\.84× \|$/);
    expect(report).toContain('Goals met');
  });

  test('the floor with TLS explains a gap but sets no goal', () => {
    const report = formatReport(measured({ workspace: 90, iap: 90, floor: 100, peer: 10, 'floor-tls': 40 }), INFO);
    expect(report).toContain('Goals met');
    expect(report).toContain('| 0.40× | 2.25× | 2.25× |');
  });

  test('a configuration under 0.8× the floor or, on request workloads, under 3× the peer is named as missed', () => {
    const report = formatReport(measured({ workspace: 70, iap: 90, floor: 100, peer: 40, 'floor-tls': 100 }), INFO);
    expect(report).toMatch(/Goals missed: .*log-batch: workspace at 0\.70× of the floor/);
    expect(report).toContain('log-batch: workspace at 1.75× of the peer (goal 3×)');
    expect(report).toContain('log-batch: iap at 2.25× of the peer (goal 3×)');
    // Transfers are bound by bytes, not by the credential check: only the floor goal applies to them.
    expect(report).not.toContain('upload-10mb: iap at 2.25× of the peer');
  });

  test('a missing measurement fails the report instead of printing a gap', () => {
    expect(() => formatReport(measured({ workspace: 1, iap: 1, floor: 1, peer: 1, 'floor-tls': 1 }).slice(1), INFO)).toThrow(
      /no measurement of log-batch for workspace/,
    );
  });

  test('rounds: each figure is the median of its rounds, requests and seconds are summed, and the report says so', () => {
    const round = (rate: number) => measured({ workspace: rate, iap: rate, floor: 2 * rate, peer: rate / 10, 'floor-tls': rate });
    const merged = medianOfRounds([round(10), round(30), round(20)]);
    const search = merged.find((m) => m.workload === 'search-runs' && m.configuration === 'floor')!;
    expect(search.perSecond).toBe(40);
    expect(search.requests).toBe(300);
    expect(medianOfRounds([round(10), round(30)]).find((m) => m.configuration === 'iap')!.perSecond).toBe(20);
    expect(formatReport(merged, { ...INFO, rounds: 3 })).toMatch(/^Measured by `npm run bench:server -- --repeat 3` .*each figure the median of 3 rounds; /);
    expect(formatReport(merged, INFO)).not.toContain('median');
  });

  test('a round that lacks a measurement is refused, not averaged over', () => {
    const full = measured({ workspace: 1, iap: 1, floor: 1, peer: 1, 'floor-tls': 1 });
    expect(() => medianOfRounds([full, full.slice(1)])).toThrow(/round 2 has no measurement of log-batch for workspace/);
  });

  test('ratios to a zero throughput say n/a', () => {
    expect(ratio(5, 0)).toBe('n/a');
    expect(ratio(3, 2)).toBe('1.50×');
  });
});

describe('--write', () => {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');

  test("replaces exactly the README's section between its markers", () => {
    const written = withReport(readme, 'NEW TABLE');
    expect(written).toContain('-->\nNEW TABLE\n<!-- bench-server:end -->');
    const outside = (text: string) => text.replace(/<!-- bench-server:begin[\s\S]*<!-- bench-server:end -->/, '');
    expect(outside(written)).toBe(outside(readme));
    expect(withReport(written, 'NEWER')).toBe(withReport(readme, 'NEWER'));
  });

  test('a README without the markers is refused, naming them', () => {
    expect(() => withReport('# no section', 'x')).toThrow(/bench-server:begin/);
  });
});

describe('options', () => {
  test('defaults: 5 s per request workload, 8 callers, 2000 seeded runs, one round, nothing written', () => {
    expect(parseOptions([])).toEqual({
      configFile: undefined,
      seconds: 5,
      concurrency: 8,
      runs: 2000,
      repeat: 1,
      workers: undefined,
      write: false,
      verbose: false,
    });
    expect(parseOptions(['--repeat', '3']).repeat).toBe(3);
  });

  test('bad values are refused with the option and the usage', () => {
    expect(() => parseOptions(['--seconds', '0'])).toThrow(/--seconds 0: must be a whole number of at least 1\nusage:/);
    expect(() => parseOptions(['--repeat', '0'])).toThrow(/--repeat 0: must be a whole number of at least 1/);
    expect(() => parseOptions(['--workers', '1,x'])).toThrow(/--workers 1,x/);
    expect(() => parseOptions(['--fast'])).toThrow(/unknown option --fast/);
    expect(() => parseOptions(['--runs'])).toThrow(/--runs needs a value/);
    expect(() => parseOptions(['--workers', '1,2', '--write'])).toThrow(/--write records the comparison of the configurations only/);
  });
});

describe('the peer is the community chart as it configures itself', () => {
  test("its auth file: READ for everyone, MLflow's own Basic check, no credential cache, the URI's % kept for configparser", () => {
    const ini = peerAuthIni('postgresql+psycopg2://mlflow%40x@127.0.0.1:5432/peer_auth', { username: 'admin', password: 'p' });
    expect(ini).toContain('default_permission = READ\n');
    expect(ini).toContain('authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n');
    expect(ini).toContain('database_uri = postgresql+psycopg2://mlflow%%40x@127.0.0.1:5432/peer_auth\n');
    expect(ini).not.toContain('auth_cache');
    expect(PEER_ARGS).toEqual(['--app-name', 'basic-auth', '--uvicorn-opts', '--log-level=info']);
  });
});
