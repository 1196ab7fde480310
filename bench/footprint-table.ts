/**
 * The README's cluster footprint table (`npm run bench -- --write`): computed from the render of the
 * embedded default and each example config, so it is the same on every machine, and
 * __tests__/footprint.test.ts keeps the README's copy equal to it.
 */
import * as path from 'path';
import { EXAMPLE_CONFIGS } from '../config/examples';
import { loadConfig } from '../model/load';
import { renderPlatform } from '../synth/render';
import type { Manifest, RenderedFile } from '../synth/rendered-file';
import { footprint, formatBytes, formatCpu } from './footprint';

const ROOT = path.resolve(__dirname, '..');

/** Objects of the files that `kubectl apply -f dist` applies (not dist/tests/), as the render made them. */
function manifestsOf(files: readonly RenderedFile[]): Manifest[] {
  return files.filter((f) => f.path.endsWith('.yaml') && !f.path.includes('/')).flatMap((f) => f.objects ?? []);
}

/** The table's lines: header, separator, one row per config. */
export function footprintTable(): string[] {
  return [
    '| config | pods | CPU requests | CPU limits | memory requests | memory limits | storage claimed | largest Job run (CPU / memory) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...['default', ...EXAMPLE_CONFIGS].map((name) => {
      const config = name === 'default' ? loadConfig() : loadConfig(path.join(ROOT, 'config', name));
      const f = footprint(manifestsOf(renderPlatform(config)));
      return `| ${name.replace(/\.yaml$/, '')} | ${f.pods} | ${formatCpu(f.cpuRequestMillis)} | ${formatCpu(f.cpuLimitMillis)} | ${formatBytes(f.memoryRequestBytes)} | ${formatBytes(f.memoryLimitBytes)} | ${formatBytes(f.storageBytes)} | ${formatCpu(f.transientCpuRequestMillis)} / ${formatBytes(f.transientMemoryRequestBytes)} |`;
    }),
  ];
}
