/** The platform's own certificate authority (cert-manager) and the lifetime of the certificates it issues. */
import { z } from 'zod';
import { dnsLabel, duration, durationSeconds } from './primitives';

/**
 * cert-manager's Certificate validation (cert-manager v1.21.1, internal/apis/certmanager/validation/
 * certificate.go ValidateDuration; pkg/apis/certmanager/v1/const.go): a duration of at least
 * MinimumCertificateDuration (1h), a renewBefore of at least MinimumRenewBefore (5m) and below the duration.
 */
const MIN_LIFETIME_SECONDS = 3600;
const MIN_RENEW_BEFORE_SECONDS = 300;
/** The CA is renewed two years ahead of its end (charts/certificates/platform-ca.ts): a year keeps every leaf inside it. */
const MAX_LIFETIME_SECONDS = 365 * 86400;

export const tlsSchema = z
  .strictObject({
    certManagerNamespace: dnsLabel()
      .default('cert-manager')
      .describe(
        "Namespace cert-manager runs in (its Helm release's, created by the install). The platform CA's key pair lives there: a ClusterIssuer of type CA reads its Secret from cert-manager's cluster resource namespace, which the Helm chart sets to its own namespace.",
      ),
    certificateLifetime: duration
      .default('90d')
      .describe('Lifetime of every server certificate the platform CA issues; cert-manager renews each renewBefore ahead of its end.'),
    renewBefore: duration
      .default('30d')
      .describe('How long before a certificate ends cert-manager renews it; the servers load the renewed one by themselves (docs/mlflow.md, "TLS").'),
  })
  .prefault({})
  .superRefine((t, ctx) => {
    const lifetime = durationSeconds(t.certificateLifetime);
    if (lifetime < MIN_LIFETIME_SECONDS)
      ctx.addIssue({
        code: 'custom',
        path: ['certificateLifetime'],
        input: t.certificateLifetime,
        message: 'must be at least 1h (cert-manager refuses shorter certificates)',
      });
    if (lifetime > MAX_LIFETIME_SECONDS)
      ctx.addIssue({
        code: 'custom',
        path: ['certificateLifetime'],
        input: t.certificateLifetime,
        message: 'must be at most 365d: a certificate must end before the platform CA is renewed',
      });
    if (durationSeconds(t.renewBefore) < MIN_RENEW_BEFORE_SECONDS)
      ctx.addIssue({
        code: 'custom',
        path: ['renewBefore'],
        input: t.renewBefore,
        message: 'must be at least 5m (cert-manager refuses a shorter renewBefore)',
      });
    else if (durationSeconds(t.renewBefore) >= lifetime)
      ctx.addIssue({
        code: 'custom',
        path: ['renewBefore'],
        input: t.renewBefore,
        message: `must be shorter than certificateLifetime (${t.certificateLifetime}): a certificate is renewed renewBefore ahead of its end`,
      });
  })
  .describe('TLS inside the cluster: the platform CA (cert-manager) that signs the MLflow and PostgreSQL certificates.');

/** A duration of the config as cert-manager takes it (Go's time.ParseDuration knows no days): hours. */
export function certManagerDuration(value: string): string {
  const seconds = durationSeconds(value);
  return seconds % 3600 === 0 ? `${seconds / 3600}h` : seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}
