#!/usr/bin/env node
/**
 * Generates imports/k8s-1.31.ts, the typed Kubernetes 1.31 API objects (KubeDeployment, KubeJob, ...,
 * with every 1.31 field, container `restartPolicy` included), offline.
 *
 * Usage: node scripts/import-k8s.js [--out FILE]   (run by scripts/import-crds.sh, i.e. `npm run import`)
 *   MLFLOW_GKE_SCHEMAS  schema folder (default: ../shared/schemas beside the repo); the input is
 *                       kubernetes/v1.31.0/_definitions.json in it
 *   --out FILE          write there instead of imports/k8s-1.31.ts (the freshness test uses this)
 *
 * `cdk8s import k8s@1.31.0` would download its schema. This runs the same importer of the installed
 * cdk8s-cli (json2jsii underneath) with the schema read from the local file instead: the download
 * function the importer calls is replaced by one that answers only the 1.31.0 schema URL, from disk,
 * and refuses every other, so nothing goes to the network. The output is therefore what
 * `cdk8s import k8s@1.31.0` writes, byte for byte, given the same schema.
 * cdk8s-cli lists no public entry for its importers, hence the paths into its lib/; if an upgrade
 * moves them, this fails loudly here and the freshness test fails.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const KUBERNETES_VERSION = '1.31.0';
const repoRoot = path.resolve(__dirname, '..');

function argValue(name) {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

function cliModule(relative) {
  const file = path.join(path.dirname(require.resolve('cdk8s-cli/package.json')), relative);
  if (!fs.existsSync(file)) throw new Error(`import-k8s: ${file} not found: the installed cdk8s-cli moved its k8s importer`);
  return require(file);
}

async function main() {
  const schemas = path.resolve(process.env.MLFLOW_GKE_SCHEMAS ?? path.join(repoRoot, '..', 'shared', 'schemas'));
  const schemaFile = path.join(schemas, 'kubernetes', `v${KUBERNETES_VERSION}`, '_definitions.json');
  if (!fs.existsSync(schemaFile)) throw new Error(`import-k8s: schema not found: ${schemaFile} (set MLFLOW_GKE_SCHEMAS)`);
  const out = path.resolve(argValue('--out') ?? path.join(repoRoot, 'imports', `k8s-${KUBERNETES_VERSION.replace(/\.0$/, '')}.ts`));

  const util = cliModule('lib/util.js');
  const { ImportKubernetesApi } = cliModule('lib/import/k8s.js');
  util.download = async (url) => {
    if (!url.endsWith(`/kubernetes-schemas/v${KUBERNETES_VERSION}/_definitions.json`)) throw new Error(`import-k8s: refusing to download ${url}`);
    return fs.readFileSync(schemaFile, 'utf8');
  };

  // The importer writes <outdir>/k8s.ts and logs the module name; write to a scratch folder, keep stdout clean.
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-import-k8s-'));
  const log = console.log;
  try {
    console.log = () => {};
    await new ImportKubernetesApi({ apiVersion: KUBERNETES_VERSION }).import({ outdir: staging, targetLanguage: 'typescript' });
  } finally {
    console.log = log;
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.copyFileSync(path.join(staging, 'k8s.ts'), out);
  fs.rmSync(staging, { recursive: true, force: true });
  console.log(`Imported Kubernetes ${KUBERNETES_VERSION} from ${schemaFile} into ${path.relative(process.cwd(), out) || out}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
