import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { MANAGED_BY, PART_OF } from './labels';

export interface PlatformChartProps {
  /**
   * Namespace stamped on every object of the chart.
   * @default - none; the chart must hold only cluster-scoped objects or set namespaces itself.
   */
  readonly namespace?: string;
  /** Environment name, the `app.kubernetes.io/instance` label. */
  readonly instance: string;
}

/**
 * Base of every chart: hash-free names (names are a contract) and the labels every object carries.
 * A chart with cluster-scoped objects must not set `namespace`: cdk8s would stamp it on them too.
 */
export class PlatformChart extends Chart {
  constructor(scope: Construct, id: string, props: PlatformChartProps) {
    super(scope, id, {
      namespace: props.namespace,
      disableResourceNameHashes: true,
      labels: {
        'app.kubernetes.io/part-of': PART_OF,
        'app.kubernetes.io/managed-by': MANAGED_BY,
        'app.kubernetes.io/instance': props.instance,
      },
    });
  }
}
