/**
 * No secret values in manifests: the rendered output is committed to git, so secrets are always
 * referenced (Secret Manager, or a Secret created out of band), never written.
 */
import { workContainers } from '../model';
import type { Json } from '../types';
import type { Rule } from '../rule';

/** Names that announce a secret (Polaris sensitiveContainerEnvVar, kube-linter env-var-secret). */
export const SECRET_NAME = /(passw(or)?d|secret|token|api[-_]?key|private[-_]?key|credential|bearer|access[-_]?key)/i;
/** Names that carry a path or a switch to a secret, not the secret itself. */
const POINTER_NAME = /(_FILE|_PATH|_DIR|_NAME|_REF|_ENABLED|_URI_FILE)$/i;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
/** user:password@ in a URL, unless the password is a `$(VAR)` reference. */
const URL_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:(?!\$\()[^@\s/]+@/i;

/** Is this literal value plausibly a secret for a variable of this name? */
export function literalSecret(name: string, value: string): string | undefined {
  if (PRIVATE_KEY.test(value)) return 'a private key';
  if (URL_PASSWORD.test(value)) return 'a URL with a password';
  if (!SECRET_NAME.test(name) || POINTER_NAME.test(name)) return undefined;
  const v = value.trim();
  if (v === '' || v.startsWith('/') || /^\$\([A-Za-z_][A-Za-z0-9_]*\)$/.test(v) || /^(true|false)$/i.test(v)) return undefined;
  return 'a literal value';
}

export const secretRules: Rule[] = [
  {
    id: 'secrets.no-values',
    severity: 'error',
    requires: 'No Secret object carries `data` or `stringData`: Secrets are created out of band and only referenced.',
    sources: ['mlflow-gke design'],
    check: function* (set) {
      for (const o of set.ofKind('Secret'))
        for (const field of ['data', 'stringData'])
          if (o.manifest[field] && Object.keys(o.manifest[field]).length > 0)
            yield {
              object: o,
              path: field,
              message: `Secret holds values (${Object.keys(o.manifest[field]).join(', ')})`,
              fix: 'create the Secret out of band (or via Secret Manager) and reference it by name',
            };
    },
  },
  {
    id: 'secrets.env-literal',
    severity: 'error',
    requires:
      'No environment variable with a secret-like name (password, secret, token, key, credential) has a literal value, and no value or argument holds a private key or a URL with a password.',
    sources: ['kube-linter', 'Polaris'],
    check: function* (set) {
      for (const t of set.templates)
        for (const c of workContainers(t)) {
          const env: Json[] = c.container.env ?? [];
          for (let i = 0; i < env.length; i++) {
            if (typeof env[i]?.value !== 'string') continue;
            const what = literalSecret(String(env[i].name ?? ''), env[i].value);
            if (what)
              yield {
                object: t.object,
                path: `${c.path}.env[${i}].value`,
                message: `${env[i].name} holds ${what}`,
                fix: 'use valueFrom.secretKeyRef (or a mounted Secret file)',
              };
          }
          for (const list of ['command', 'args']) {
            const args: unknown[] = Array.isArray(c.container[list]) ? c.container[list] : [];
            for (let i = 0; i < args.length; i++) {
              const what = typeof args[i] === 'string' ? literalSecret('', args[i] as string) : undefined;
              if (what)
                yield {
                  object: t.object,
                  path: `${c.path}.${list}[${i}]`,
                  message: `argument holds ${what}`,
                  fix: 'pass it through an environment variable from a Secret, $(VAR)',
                };
            }
          }
        }
    },
  },
  {
    id: 'secrets.configmap-content',
    severity: 'error',
    requires: 'No ConfigMap holds a private key, a URL with a password, or a non-empty value under a secret-like key.',
    sources: ['Polaris'],
    check: function* (set) {
      for (const o of set.ofKind('ConfigMap'))
        for (const [k, v] of Object.entries(o.manifest.data ?? {})) {
          if (typeof v !== 'string') continue;
          const what = PRIVATE_KEY.test(v)
            ? 'a private key'
            : URL_PASSWORD.test(v)
              ? 'a URL with a password'
              : SECRET_NAME.test(k) && !POINTER_NAME.test(k) && !/\.[a-z]+$/i.test(k) && v.trim() !== ''
                ? 'a secret-like value'
                : undefined;
          if (what) yield { object: o, path: `data.${k}`, message: `key ${k} holds ${what}`, fix: 'move it into a Secret created out of band' };
        }
    },
  },
];
