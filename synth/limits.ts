/**
 * Limits that Linux and Kubernetes enforce only at run or apply time, checked at synth so a config
 * that would break there is refused here, with the limit in the message.
 */
import { podTemplateOf, workContainers } from '../policy/model';
import type { Manifest } from './rendered-file';

/**
 * Linux refuses to exec a program with one argument or environment string longer than MAX_ARG_STRLEN,
 * 32 pages (131072 bytes, the terminating NUL included): include/uapi/linux/binfmts.h.
 */
export const MAX_ARG_STRLEN = 32 * 4096;

/**
 * `kubectl apply` (client-side) keeps the whole object in the `kubectl.kubernetes.io/last-applied-configuration`
 * annotation, and the API server refuses annotations over 256 KiB in total
 * (k8s.io/apimachinery pkg/api/validation/objectmeta.go: TotalAnnotationSizeLimitB = 256 * (1 << 10)).
 */
export const MAX_APPLIED_OBJECT_BYTES = 256 * 1024;

/** Every object of `objects` (one file's) within the limits; otherwise one message per breach. */
export function limitProblems(file: string, objects: readonly Manifest[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const id = `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
    const bytes = Buffer.byteLength(JSON.stringify(o));
    if (bytes > MAX_APPLIED_OBJECT_BYTES)
      problems.push(
        `${file}: ${id} is ${kib(bytes)} as JSON; kubectl apply stores each object in an annotation limited to 256 KiB: list fewer items in the config fields it is built from`,
      );
    for (const c of containersOf(o)) {
      const strings: [string, string][] = [
        ...[...(c.command ?? []), ...(c.args ?? [])].map((a: string, i: number, all: string[]): [string, string] => [`argument ${argName(all, i)}`, a]),
        ...(c.env ?? [])
          .filter((e: Manifest) => typeof e.value === 'string')
          .map((e: Manifest): [string, string] => [`environment variable ${e.name}`, `${e.name}=${e.value}`]),
      ];
      for (const [what, text] of strings) {
        const size = Buffer.byteLength(text) + 1;
        if (size > MAX_ARG_STRLEN)
          problems.push(
            `${file}: ${id}, container ${c.name}: ${what} is ${kib(size)}; Linux limits one argument or environment string to 128 KiB (MAX_ARG_STRLEN): list fewer items in the config fields it is built from`,
          );
      }
    }
  }
  return problems;
}

/** The flag an argument belongs to, when it is a flag's value. */
function argName(all: readonly string[], i: number): string {
  const previous = all[i - 1];
  return typeof previous === 'string' && previous.startsWith('-') && !all[i].startsWith('-') ? `${previous} value` : `#${i}`;
}

/** The containers of an object's pod template, whatever the workload kind (the policy gate's reading). */
function containersOf(o: Manifest): Manifest[] {
  const template = podTemplateOf({ file: '', doc: 0, manifest: o });
  return template ? workContainers(template).map((c) => c.container) : [];
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
