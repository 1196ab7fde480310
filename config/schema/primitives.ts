/**
 * Value types shared by every config section. Each carries the message that a user sees when a
 * value is rejected, so that a message always says what is allowed.
 */
import { z } from 'zod';

/** A lower-case RFC 1123 label: what Kubernetes accepts as a name. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const dnsLabel = (maxLength = 63) =>
  z
    .string()
    .max(maxLength, `must be at most ${maxLength} characters`)
    .regex(DNS_LABEL, 'must be a DNS label: lower-case letters, digits and "-", starting and ending with a letter or digit');

/** GCP project ids: 6-30 characters, start with a letter, no trailing hyphen. */
export const projectId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a GCP project id: 6-30 lower-case letters, digits or "-", starting with a letter, not ending with "-"');

/** Project numbers are written as numbers or strings in YAML; both become a digit string. */
const PROJECT_NUMBER = 'a GCP project number: 6-19 digits, not starting with 0, such as "123456789012"';
export const projectNumber = z
  .union([z.string(), z.number()], {
    error: (issue) => (issue.input === undefined ? `is required (${PROJECT_NUMBER})` : `must be ${PROJECT_NUMBER}`),
  })
  .transform((v) => String(v))
  .pipe(z.string().regex(/^[1-9][0-9]{5,18}$/, `must be ${PROJECT_NUMBER}`));

export const region = z.string().regex(/^[a-z]+-[a-z]+[1-9][0-9]*$/, 'must be a GCP region such as "europe-west1" or "us-central1"');

export const zone = z.string().regex(/^[a-z]+-[a-z]+[1-9][0-9]*-[a-z]$/, 'must be a GCP zone such as "europe-west1-b"');

/** An IPv4 network in CIDR notation whose host bits are zero (what GCP and GKE accept). */
export const cidr = z.string().superRefine((value, ctx) => {
  const problem = cidrProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export function cidrProblem(value: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  const allowed = 'must be an IPv4 CIDR such as "10.0.0.0/16" (octets 0-255, prefix 0-32, host bits zero)';
  if (!m) return allowed;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return allowed;
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const hostBits = 2 ** (32 - prefix);
  if (address % hostBits !== 0) return `${allowed}; did you mean "${cidrNetwork(address, prefix)}"?`;
  return undefined;
}

function cidrNetwork(address: number, prefix: number): string {
  const size = 2 ** (32 - prefix);
  const network = Math.floor(address / size) * size;
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256);
  return `${octets.join('.')}/${prefix}`;
}

/** A fully qualified host name (at least two labels), lower case. */
export const dnsName = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(/^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a lower-case DNS name such as "mlflow.example.com"');

/**
 * An email address, read in lower case: Google identities ignore case, so the one rule is that every
 * email of the config is lower-cased as it is read (docs/workspaces.md, "Email case") and every object
 * that names it (IAP grants, MLflow accounts, Git identities) writes the same string.
 */
export const email = z
  .string()
  .regex(/^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/, 'must be an email address such as "ml-team@example.com"')
  .overwrite((value) => value.toLowerCase());

/** An IAM principal as IAM writes it. */
export const iamMember = z
  .string()
  .regex(
    /^(user|group|serviceAccount):[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$|^domain:[a-z0-9.-]+\.[a-z]{2,}$/,
    'must be an IAM member such as "user:ana@example.com", "group:ml@example.com", "serviceAccount:x@p.iam.gserviceaccount.com" or "domain:example.com"',
  )
  // The email after the prefix is read in lower case, like every email (see email above).
  .overwrite((value) => value.replace(/^(user|group|serviceAccount):(.*)$/, (_m, kind: string, address: string) => `${kind}:${address.toLowerCase()}`));

/**
 * A container image pinned by a version tag or a digest (or both); `latest`, and the moving tags of
 * families whose tagging makes them recognisable, are never accepted.
 */
export const image = z.string().superRefine((value, ctx) => {
  const problem = imageProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const IMAGE =
  /^(?<repo>[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+(?=\/))?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*)(:(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?<digest>@sha256:[a-f0-9]{64})?$/;

/**
 * docker-stacks images (quay.io/jupyter/*, formerly jupyter/* on Docker Hub). Their tagger writes
 * `[platform-][variant-]VALUE` for each of latest, the build date (`%Y-%m-%d`), the commit and the
 * versions inside (python-3.12, lab-4.x, ...), and re-pushes all but the date and commit with every
 * build: jupyter/docker-stacks tagging/apps/write_tags_file.py, tagging/taggers/date.py (main).
 * So a date tag, or a digest, is the only pin that holds.
 */
const DOCKER_STACKS = /^(quay\.io\/|docker\.io\/)?jupyter\//;
const DATE_TAG = /(^|-)\d{4}-\d{2}-\d{2}$/;

export function imageProblem(value: string): string | undefined {
  const m = IMAGE.exec(value);
  if (!m) return 'must be an image reference such as "ghcr.io/mlflow/mlflow:v3.17.0-full" or "postgres:16.4@sha256:<64 hex digits>"';
  const tag = m.groups?.tag;
  const digest = m.groups?.digest;
  if (!tag && !digest) return 'must be pinned by a version tag such as ":v3.17.0-full" or a digest "@sha256:..." (an untagged image means "latest")';
  if (tag && /latest/.test(tag)) return `must be pinned by a version tag or a digest, not "${tag}"`;
  if (tag && !digest && DOCKER_STACKS.test(m.groups!.repo) && !DATE_TAG.test(tag))
    return `must be pinned by a date tag such as ":2025-10-06" (or "cuda12-2025-10-06") or a digest: docker-stacks re-pushes "${tag}" with every build`;
  return undefined;
}

/** The tag part of an image reference validated by `image`. */
export function imageTag(ref: string): string {
  const m = IMAGE.exec(ref);
  return m?.groups?.tag ?? '';
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** A duration such as "90s", "30m", "12h" or "30d"; must be positive. */
export const duration = z.string().regex(/^[1-9][0-9]*[smhd]$/, 'must be a positive duration such as "90s", "30m", "12h" or "30d"');

export function durationSeconds(value: string): number {
  return Number(value.slice(0, -1)) * DURATION_UNITS[value.slice(-1)];
}

export const cpu = z.string().regex(/^(?!0+m?$)(?!0*\.0*m?$)([0-9]+m|[0-9]+(\.[0-9]+)?)$/, 'must be a positive CPU quantity such as "250m" or "2"');

/** A positive binary size such as "512Mi", "20Gi". */
export const size = z.string().regex(/^[1-9][0-9]*(Ki|Mi|Gi|Ti)$/, 'must be a positive size such as "512Mi" or "20Gi"');

const SIZE_UNITS: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

export function sizeBytes(value: string): number {
  return Number(value.slice(0, -2)) * SIZE_UNITS[value.slice(-2)];
}

export function cpuMillis(value: string): number {
  return value.endsWith('m') ? Number(value.slice(0, -1)) : Math.round(Number(value) * 1000);
}

export const positiveInt = (what = 'a positive whole number') =>
  z
    .number({ message: `must be ${what}` })
    .int(`must be ${what}`)
    .positive(`must be ${what}`);

/**
 * Fields of a five-field cron schedule as a CronJob parses it: robfig/cron v3 parser.go (v3.0.1),
 * bounds minutes 0-59, hours 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-6 or
 * SUN-SAT; each field a list of `*`, `?`, N or N-M, each with an optional /step.
 */
const CRON_FIELDS: readonly { name: string; min: number; max: number; names?: readonly string[] }[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

/** Why a five-field cron schedule would be refused by the CronJob controller, or undefined. */
export function cronProblem(schedule: string): string | undefined {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5) return 'must be a five-field cron schedule such as "0 2 * * *" (minute hour day-of-month month day-of-week)';
  for (const [i, field] of fields.entries()) {
    const spec = CRON_FIELDS[i];
    const value = (text: string) => {
      const named = spec.names?.indexOf(text.toLowerCase()) ?? -1;
      if (named >= 0) return named + spec.min;
      return /^[0-9]+$/.test(text) ? Number(text) : NaN;
    };
    for (const item of field.split(',')) {
      const [range, step, ...more] = item.split('/');
      const bad = (why: string) => `must be a valid cron schedule: ${spec.name} field "${field}" ${why}`;
      if (more.length > 0 || (step !== undefined && !/^[1-9][0-9]*$/.test(step))) return bad('has a bad step (use "*/N" with N from 1)');
      if (range === '*' || range === '?') continue;
      const [low, high, ...rest] = range.split('-');
      const start = value(low);
      const end = high === undefined ? start : value(high);
      if (rest.length > 0 || Number.isNaN(start) || Number.isNaN(end))
        return bad(
          `is not understood (allowed: *, numbers${spec.names ? ', names such as ' + spec.names[0].toUpperCase() : ''}, ranges N-M, lists and /steps)`,
        );
      if (start < spec.min || end > spec.max) return bad(`is out of range: allowed ${spec.min}-${spec.max}`);
      if (start > end) return bad(`has a range that runs backwards (${start}-${end})`);
    }
  }
  return undefined;
}

/** Five-field cron schedule, as a CronJob accepts it. */
export const cronSchedule = z.string().superRefine((value, ctx) => {
  const problem = cronProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Requests and limits of one container. */
export const resources = (defaults: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } }) =>
  z
    .strictObject({
      requests: z
        .strictObject({
          cpu: cpu.default(defaults.requests.cpu).describe('CPU the container is guaranteed.'),
          memory: size.default(defaults.requests.memory).describe('Memory the container is guaranteed.'),
        })
        .prefault({})
        .describe('Requested CPU and memory.'),
      limits: z
        .strictObject({
          cpu: cpu.default(defaults.limits.cpu).describe('CPU the container may use at most.'),
          memory: size.default(defaults.limits.memory).describe('Memory the container may use at most (exceeding it kills the container).'),
        })
        .prefault({})
        .describe('CPU and memory limits.'),
    })
    .prefault({})
    .superRefine((r, ctx) => {
      if (cpuMillis(r.limits.cpu) < cpuMillis(r.requests.cpu))
        ctx.addIssue({ code: 'custom', path: ['limits', 'cpu'], input: r.limits.cpu, message: `must be at least the CPU request (${r.requests.cpu})` });
      if (sizeBytes(r.limits.memory) < sizeBytes(r.requests.memory))
        ctx.addIssue({
          code: 'custom',
          path: ['limits', 'memory'],
          input: r.limits.memory,
          message: `must be at least the memory request (${r.requests.memory})`,
        });
    });

export type Resources = z.infer<ReturnType<typeof resources>>;
