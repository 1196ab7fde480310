/**
 * Who may pass Identity-Aware Proxy: additive project-level grants of the IAP accessor role, each
 * limited by an IAM condition to one host name. IAP's per-backend IAM resource is named after the
 * backend service, whose id exists only once the Ingress controller has created it; the host of the
 * request is known in advance and IAP evaluates `request.host` conditions, so each grant admits its
 * member to exactly one app.
 */
import { Construct } from 'constructs';
import { IamPolicyMember } from '../../imports/iam.cnrm.cloud.google.com';
import type { IapGrant } from '../../model/edge-sites';
import { GcpScope, kccMetadata } from './common';

export const IAP_ACCESSOR = 'roles/iap.httpsResourceAccessor';

export interface IapAccessProps {
  readonly scope: GcpScope;
  readonly grants: readonly IapGrant[];
}

/** The IAM condition admitting requests to one host only. */
function hostCondition(host: string): { title: string; description: string; expression: string } {
  return {
    title: `IAP access to ${host}`,
    description: `Requests to https://${host}/ only (mlflow-gke edge)`,
    expression: `request.host == "${host}"`,
  };
}

export class IapAccess extends Construct {
  constructor(scope: Construct, id: string, props: IapAccessProps) {
    super(scope, id);
    const s = props.scope;
    for (const grant of props.grants) {
      new IamPolicyMember(this, grant.name, {
        metadata: kccMetadata(s, grant.name),
        spec: {
          resourceRef: { kind: 'Project', external: `projects/${s.project}` },
          role: IAP_ACCESSOR,
          member: grant.member,
          condition: hostCondition(grant.host),
        },
      });
    }
  }
}
