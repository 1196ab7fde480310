/**
 * Strict offline validation: Kubernetes objects against the API definitions of the supported
 * Kubernetes versions, custom resources against their CRDs. Unknown fields are rejected everywhere
 * (`additionalProperties: false` is added when the schemas load; the files stay as they are).
 */
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import standaloneCode from 'ajv/dist/standalone';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { cachedSchemaDir, isComplete } from '../../schemas/cache';
import { validateWithPackages } from './fallback-validation';
import { CRD_SCHEMA_PATCHES, HAND_WRITTEN_CRDS, STAND_IN_SCHEMAS, VERSION_EXCEPTIONS } from './schema-exceptions';

/**
 * The supported range: 1.31, the minimum (native sidecars need container `restartPolicy`, which
 * 1.27 lacks), and 1.34, the newest schema here. 1.31 is required; 1.34 is checked when present.
 */
export const KUBERNETES_VERSIONS = ['v1.31.0', 'v1.34.0'] as const;
/** A version with a schema folder under kubernetes/ (1.27 stays for tests that show what it rejects). */
export type KubernetesVersion = (typeof KUBERNETES_VERSIONS)[number] | 'v1.27.0';
/** Every version with a schema folder the tests read: the supported range and 1.27. */
export const ALL_KUBERNETES_VERSIONS: readonly KubernetesVersion[] = ['v1.27.0', ...KUBERNETES_VERSIONS];

/** `../shared/schemas` beside the project. */
export const SHARED_SCHEMA_DIR = path.resolve(__dirname, '../../../shared/schemas');

/**
 * The schema folder: `MLFLOW_GKE_SCHEMAS` when set, else `sharedDir` when it exists, else the folder
 * `npm run schemas` downloaded for the current manifest when it is complete. With none of them it is
 * `sharedDir`, which does not exist, and the tests that need schemas are skipped.
 */
export function resolveSchemaDir(env: Readonly<Record<string, string | undefined>>, sharedDir: string, downloadedDir: string): string {
  if (env.MLFLOW_GKE_SCHEMAS !== undefined) return env.MLFLOW_GKE_SCHEMAS;
  if (fs.existsSync(sharedDir)) return sharedDir;
  if (isComplete(downloadedDir)) return downloadedDir;
  return sharedDir;
}

export function schemaDir(): string {
  return resolveSchemaDir(process.env, SHARED_SCHEMA_DIR, cachedSchemaDir());
}

function definitionsFile(version: KubernetesVersion): string {
  return path.join('kubernetes', version, '_definitions.json');
}

export function hasKubernetesSchema(version: KubernetesVersion, dir = schemaDir()): boolean {
  return fs.existsSync(path.join(dir, definitionsFile(version)));
}

export function schemasAvailable(): boolean {
  return hasKubernetesSchema(KUBERNETES_VERSIONS[0]);
}

/** The versions of the range with a schema here; says loudly when a newer one is missing. */
export function availableKubernetesVersions(dir = schemaDir()): KubernetesVersion[] {
  const found = KUBERNETES_VERSIONS.filter((v) => hasKubernetesSchema(v, dir));
  const missing = KUBERNETES_VERSIONS.filter((v) => !found.includes(v));
  if (missing.length > 0 && found.length > 0 && onceThisRun('missing-versions')) {
    console.warn(`\n!! Kubernetes ${missing.join(', ')} schema missing under ${path.join(dir, 'kubernetes')}: validating against ${found.join(', ')} only\n`);
  }
  return found;
}

/**
 * True the first time a test of this jest run asks for `name`, false after: each test file has its
 * own module state, so the warning above would otherwise print once per file. The run is the jest
 * parent process (a worker's parent, or the process itself when running in band).
 */
function onceThisRun(name: string): boolean {
  const run = process.send ? process.ppid : process.pid;
  try {
    fs.writeFileSync(path.join(os.tmpdir(), `mlflow-gke-banner-${name}-${run}`), '', { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

/** Prints `text` as a warning the first time this jest run meets it: one banner, not one per test or file. */
export function warnOncePerRun(text: string): boolean {
  const key = createHash('sha256').update(text).digest('hex').slice(0, 16);
  if (!onceThisRun(`warn-${key}`)) return false;
  console.warn(text);
  return true;
}

type Json = Record<string, any>;

/** Adds `additionalProperties: false` to every object schema with properties, unless it preserves unknown fields. */
export function closeObjects(schema: unknown): void {
  if (Array.isArray(schema)) return schema.forEach(closeObjects);
  if (schema === null || typeof schema !== 'object') return;
  const s = schema as Json;
  if (s.properties && typeof s.properties === 'object' && s.additionalProperties === undefined && !s['x-kubernetes-preserve-unknown-fields'])
    s.additionalProperties = false;
  for (const [key, value] of Object.entries(s)) {
    if (key === 'properties' || key === 'definitions' || key === 'patternProperties') Object.values(value as Json).forEach(closeObjects);
    else if (typeof value === 'object') closeObjects(value);
  }
}

export interface Violation {
  readonly object: string;
  readonly version: string;
  readonly message: string;
}

export function describeObject(o: Json): string {
  return `${o.apiVersion}/${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
}

function formatErrors(errors: ErrorObject[] | null | undefined): string[] {
  // `oneOf` branches of IntOrString/Quantity produce noise next to the real error; keep the leaves.
  return (errors ?? [])
    .filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf')
    .map((e) =>
      e.keyword === 'additionalProperties'
        ? `${e.instancePath || '/'}: unknown field "${(e.params as Json).additionalProperty}"`
        : `${e.instancePath || '/'}: ${e.message}`,
    );
}

/** Validates Kubernetes API objects for one version. */
export class KubernetesValidator {
  private readonly ajv: Ajv;
  private readonly byGvk = new Map<string, string>();
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly cacheKey: string;

  constructor(
    readonly version: KubernetesVersion,
    dir = schemaDir(),
  ) {
    const doc = JSON.parse(fs.readFileSync(path.join(dir, 'kubernetes', version, '_definitions.json'), 'utf8'));
    closeObjects(doc.definitions);
    for (const [name, def] of Object.entries<Json>(doc.definitions)) {
      for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
        const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
        // Prefer the definition of the group's own package over aliases that list several GVKs.
        if (!this.byGvk.has(`${apiVersion}/${gvk.kind}`) || name.endsWith(`.${gvk.kind}`)) this.byGvk.set(`${apiVersion}/${gvk.kind}`, name);
      }
    }
    this.ajv = new Ajv(AJV_OPTIONS);
    this.ajv.addSchema({ $id: 'k8s', definitions: doc.definitions });
    this.cacheKey = createHash('sha1').update(version).update(JSON.stringify(doc.definitions)).digest('hex');
  }

  knows(o: Json): boolean {
    return this.byGvk.has(`${o.apiVersion}/${o.kind}`);
  }

  /** The definition for an ObjectMeta, for checking custom resources' metadata. */
  validateMetadata(metadata: unknown): string[] {
    const validate = this.compile('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    return validate(metadata) ? [] : formatErrors(validate.errors).map((m) => `/metadata${m}`);
  }

  validate(o: Json): string[] {
    const def = this.byGvk.get(`${o.apiVersion}/${o.kind}`);
    if (!def) return [`/: ${o.apiVersion}/${o.kind} is not served by Kubernetes ${this.version}`];
    const validate = this.compile(def);
    if (validate(o)) return [];
    return formatErrors(validate.errors).filter((m) => !isExcepted(this.version, o, m));
  }

  private compile(def: string): ValidateFunction {
    let fn = this.compiled.get(def);
    if (!fn) {
      fn = compileCached(this.ajv, { $ref: `k8s#/definitions/${def}` }, `${this.cacheKey}/${def}`);
      this.compiled.set(def, fn);
    }
    return fn;
  }
}

function isExcepted(version: string, o: Json, message: string): boolean {
  return VERSION_EXCEPTIONS.some((e) => e.versions.includes(version) && e.kind === o.kind && e.message.test(message));
}

/** Validates custom resources against the CRDs under `crds/`; each schema compiles on first use. */
export class CrdValidator {
  private readonly ajv = new Ajv(AJV_OPTIONS);
  private readonly schemas = new Map<string, Json>();
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(dir = schemaDir()) {
    // The shared copies first; a hand-written CRD never replaces a published one.
    for (const crd of [...loadCrds(dir), ...HAND_WRITTEN_CRDS]) {
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const version of crd.spec.versions) {
        const schema = structuredClone(version.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
        const key = `${crd.spec.group}/${version.name}/${crd.spec.names.kind}`;
        if (this.schemas.has(key)) continue;
        CRD_SCHEMA_PATCHES.filter((p) => p.crd === key).forEach((p) => p.patch(schema));
        // Every object has these; some CRDs leave them out. metadata is checked against ObjectMeta separately.
        schema.properties = { ...schema.properties, apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } };
        closeObjects(schema);
        this.schemas.set(key, schema);
      }
    }
    // Kinds without a CRD file: their stand-in schema (support/schema-exceptions.ts), unless the real CRD is here.
    for (const stand of STAND_IN_SCHEMAS) {
      if (this.schemas.has(stand.crd)) continue;
      const schema = structuredClone(stand.schema);
      closeObjects(schema);
      this.schemas.set(stand.crd, schema);
    }
  }

  knows(o: Json): boolean {
    return this.schemas.has(`${o.apiVersion}/${o.kind}`);
  }

  kinds(): string[] {
    return [...this.schemas.keys()].sort();
  }

  validate(o: Json): string[] {
    const key = `${o.apiVersion}/${o.kind}`;
    const schema = this.schemas.get(key);
    if (!schema) return [`/: no CRD for ${key}`];
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = compileCached(this.ajv, schema, JSON.stringify(schema));
      this.compiled.set(key, validate);
    }
    return validate(o) ? [] : formatErrors(validate.errors);
  }
}

/** The CRD files of a schema folder: every YAML file under `crds/`. */
function crdFiles(dir: string): string[] {
  const crds = path.join(dir, 'crds');
  return fs.existsSync(crds) ? listFiles(crds).filter((f) => /\.ya?ml$/.test(f)) : [];
}

/**
 * Every file of the schema folder `dir` that the validators read, relative to it: the Kubernetes
 * definitions of each version there and the CRD files. `npm run schemas` must pin them all.
 */
export function schemaFilesRead(dir = schemaDir()): string[] {
  const definitions = ALL_KUBERNETES_VERSIONS.filter((v) => hasKubernetesSchema(v, dir)).map(definitionsFile);
  return [...definitions, ...crdFiles(dir).map((f) => path.relative(dir, f))].map((f) => f.split(path.sep).join('/')).sort();
}

/**
 * Every document of every CRD file of the schema folder `dir`. Parsing the large Config Connector CRDs
 * takes about a second, so the parsed documents are cached as JSON in node_modules/.cache, keyed by the
 * files' paths, sizes and modification times.
 */
function loadCrds(dir: string): Json[] {
  const files = crdFiles(dir);
  const key = createHash('sha1')
    .update(files.map((f) => `${f}:${fs.statSync(f).size}:${fs.statSync(f).mtimeMs}`).join('\n'))
    .digest('hex');
  const cache = path.join(CACHE_DIR, `crds-${key}.json`);
  if (fs.existsSync(cache)) return JSON.parse(fs.readFileSync(cache, 'utf8'));
  const docs = files.flatMap((file) => YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS() as Json));
  fs.mkdirSync(path.dirname(cache), { recursive: true });
  const tmp = `${cache}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(docs));
  fs.renameSync(tmp, cache);
  return docs;
}

const AJV_OPTIONS = { strict: false, allErrors: true, validateFormats: false, code: { source: true } };
const CACHE_DIR = path.resolve(__dirname, '../../node_modules/.cache/mlflow-gke');

/**
 * Compiles a schema once per machine: the generated validator code is kept in node_modules/.cache
 * (compiling the Kubernetes and large CRD schemas costs a second or more in every test file).
 */
function compileCached(ajv: Ajv, schema: object, key: string): ValidateFunction {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- package metadata, read once
  const ajvVersion = require('ajv/package.json').version as string;
  const file = path.join(CACHE_DIR, 'ajv', `${createHash('sha1').update(ajvVersion).update(key).digest('hex')}.js`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a cached validator module, known only at run time
  if (fs.existsSync(file)) return require(file);
  const validate = ajv.compile(schema);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, standaloneCode(ajv, validate));
  fs.renameSync(tmp, file);
  return validate;
}

function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .sort();
}

/**
 * Validates every object strictly; returns one line per problem. Without the schema folder it falls
 * back to the kubernetes-models packages; the tests that need strictness are skipped then
 * (support/strict-tests.ts), and the run's banner says so.
 */
export class StrictValidator {
  private readonly strict = schemasAvailable()
    ? { kube: availableKubernetesVersions().map((v) => new KubernetesValidator(v)), crds: new CrdValidator() }
    : undefined;

  /** The Kubernetes versions every object is checked against (none when falling back). */
  get versions(): KubernetesVersion[] {
    return this.strict?.kube.map((k) => k.version) ?? [];
  }

  validate(objects: Json[]): string[] {
    if (!this.strict) {
      const { problems, unvalidated } = validateWithPackages(objects);
      if (unvalidated.length > 0) warnOncePerRun(`!! not validated (no package knows these kinds): ${unvalidated.join(', ')}`);
      return problems;
    }
    const { kube, crds } = this.strict;
    return objects.flatMap((o) => {
      const name = describeObject(o);
      if (crds.knows(o)) {
        const meta = kube[kube.length - 1].validateMetadata(o.metadata);
        return [...crds.validate(o), ...meta].map((m) => `${name} (CRD): ${m}`);
      }
      if (!kube.some((k) => k.knows(o))) return [`${name}: no schema for ${o.apiVersion}/${o.kind} in Kubernetes ${this.versions.join(', ')} or the CRDs`];
      return kube.flatMap((k) => k.validate(o).map((m) => `${name} (Kubernetes ${k.version}): ${m}`));
    });
  }
}
