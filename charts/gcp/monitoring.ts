/**
 * Alerts and the platform dashboard: an email channel, an uptime check on the public MLflow host,
 * alert policies for availability, 5xx rate, container restarts, Cloud SQL load and PVC usage, and
 * one dashboard. The dashboard kind has no generated class (its CRD is huge), so it is a plain
 * ApiObject that the strict CRD validation of the tests still checks.
 */
import { ApiObject } from 'cdk8s';
import { MLFLOW_HEALTH_PATH } from '../../common/contract';
import { Construct } from 'constructs';
import {
  MonitoringAlertPolicy,
  MonitoringAlertPolicySpecConditions,
  MonitoringNotificationChannel,
  MonitoringUptimeCheckConfig,
} from '../../imports/monitoring.cnrm.cloud.google.com';
import { GcpScope, kccMetadata } from './common';

export interface MonitoringProps {
  readonly scope: GcpScope;
  /** Prefix of the object names. */
  readonly prefix: string;
  readonly notificationEmail: string;
  readonly clusterName: string;
  /** Namespace of MLflow (its metrics are scraped by Managed Prometheus). */
  readonly platformNamespace: string;
  /** Namespaces whose containers and volumes are watched. */
  readonly namespaces: readonly string[];
  /**
   * Public MLflow host for the uptime check.
   * @default - no uptime check (no public entry)
   */
  readonly mlflowHost?: string;
  /**
   * The Cloud SQL instance, as `project:instance` (the metric's database_id).
   * @default - no Cloud SQL alerts (in-cluster database)
   */
  readonly cloudSqlDatabaseId?: string;
  readonly thresholds: {
    readonly http5xxPercent: number;
    readonly containerRestarts: number;
    readonly sqlCpuPercent: number;
    readonly sqlDiskPercent: number;
    readonly sqlConnections: number;
    readonly pvcUsagePercent: number;
  };
}

/**
 * MLflow's request counter, labels `method` and `status`, served behind `mlflow server --expose-prometheus`.
 * MLflow builds prometheus_flask_exporter's metrics with `defaults_prefix="mlflow"`
 * (mlflow/mlflow, mlflow/server/prometheus_exporter.py, the same in 3.9.0 and later), and the exporter
 * names the counter `<prefix>_http_request_total` (rycus86/prometheus_flask_exporter,
 * prometheus_flask_exporter/__init__.py); `flask_` is only the exporter's default prefix.
 */
const MLFLOW_REQUESTS_METRIC = 'mlflow_http_request_total';

export class Monitoring extends Construct {
  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const s = props.scope;
    const p = props.prefix;
    const t = props.thresholds;
    const channel = new MonitoringNotificationChannel(this, 'email', {
      metadata: kccMetadata(s, `${p}mlflow-alerts-email`),
      spec: { type: 'email', description: 'MLflow platform alerts', labels: { email_address: props.notificationEmail }, enabled: true },
    });
    const k8sScope = `resource.label.cluster_name="${props.clusterName}" AND resource.label.namespace_name=one_of(${props.namespaces.map((n) => `"${n}"`).join(',')})`;
    const filters = {
      restarts: `metric.type="kubernetes.io/container/restart_count" AND resource.type="k8s_container" AND ${k8sScope}`,
      cpu: `metric.type="kubernetes.io/container/cpu/core_usage_time" AND resource.type="k8s_container" AND ${k8sScope}`,
      memory: `metric.type="kubernetes.io/container/memory/used_bytes" AND resource.type="k8s_container" AND ${k8sScope}`,
      volumes: `metric.type="kubernetes.io/pod/volume/utilization" AND resource.type="k8s_pod" AND ${k8sScope}`,
      uptime: props.mlflowHost
        ? `metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND resource.type="uptime_url" AND resource.label.host="${props.mlflowHost}"`
        : undefined,
      sql: (metric: string) =>
        `metric.type="cloudsql.googleapis.com/database/${metric}" AND resource.type="cloudsql_database" AND resource.label.database_id="${props.cloudSqlDatabaseId}"`,
    };
    const requests = (extra = '') => `${MLFLOW_REQUESTS_METRIC}{namespace="${props.platformNamespace}"${extra}}`;
    const errorRatio = `sum(rate(${requests(',status=~"5.."')}[5m])) / sum(rate(${requests()}[5m]))`;

    const alert = (
      name: string,
      displayName: string,
      severity: 'CRITICAL' | 'ERROR' | 'WARNING',
      doc: string,
      condition: MonitoringAlertPolicySpecConditions,
    ) =>
      new MonitoringAlertPolicy(this, name, {
        metadata: kccMetadata(s, `${p}mlflow-${name}`),
        spec: {
          displayName,
          severity,
          combiner: 'OR',
          enabled: true,
          conditions: [condition],
          notificationChannels: [{ name: channel.name }],
          documentation: { mimeType: 'text/markdown', content: doc },
          alertStrategy: { autoClose: '604800s' },
        },
      });

    if (props.mlflowHost && filters.uptime) {
      new MonitoringUptimeCheckConfig(this, 'uptime', {
        metadata: kccMetadata(s, `${p}mlflow-uptime`),
        spec: {
          projectRef: { external: s.project },
          displayName: `MLflow https://${props.mlflowHost}${MLFLOW_HEALTH_PATH}`,
          monitoredResource: { type: 'uptime_url', filterLabels: { host: props.mlflowHost, project_id: s.project } },
          httpCheck: { path: MLFLOW_HEALTH_PATH, port: 443, useSsl: true, validateSsl: true, requestMethod: 'GET' },
          period: '60s',
          timeout: '10s',
        },
      });
      alert('availability', 'MLflow unavailable', 'CRITICAL', `The uptime check of https://${props.mlflowHost}/health fails from more than one region.`, {
        displayName: 'Uptime check failing',
        conditionThreshold: {
          filter: filters.uptime,
          aggregations: [
            { alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_NEXT_OLDER', crossSeriesReducer: 'REDUCE_COUNT_FALSE', groupByFields: ['resource.label.host'] },
          ],
          comparison: 'COMPARISON_GT',
          thresholdValue: 1,
          duration: '300s',
        },
      });
    }
    alert('http-5xx', 'MLflow 5xx responses', 'ERROR', `More than ${t.http5xxPercent}% of MLflow responses over 5 minutes are server errors.`, {
      displayName: '5xx share of MLflow responses',
      conditionPrometheusQueryLanguage: { query: `${errorRatio} > ${t.http5xxPercent / 100}`, duration: '300s', evaluationInterval: '60s' },
    });
    alert(
      'container-restarts',
      'Platform container restarting',
      'WARNING',
      `A container of the platform restarted at least ${t.containerRestarts} times within 30 minutes.`,
      {
        displayName: 'Container restarts',
        conditionThreshold: {
          filter: filters.restarts,
          aggregations: [
            {
              alignmentPeriod: '1800s',
              perSeriesAligner: 'ALIGN_DELTA',
              crossSeriesReducer: 'REDUCE_SUM',
              groupByFields: ['resource.label.namespace_name', 'resource.label.pod_name', 'resource.label.container_name'],
            },
          ],
          comparison: 'COMPARISON_GT',
          thresholdValue: t.containerRestarts - 1,
          duration: '0s',
        },
      },
    );
    alert(
      'pvc-usage',
      'Platform volume filling up',
      'WARNING',
      `A volume of a platform pod is more than ${t.pvcUsagePercent}% full. Grow the claim (the StorageClass allows expansion).`,
      {
        displayName: 'Volume utilization',
        conditionThreshold: {
          filter: filters.volumes,
          aggregations: [{ alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_MAX' }],
          comparison: 'COMPARISON_GT',
          thresholdValue: t.pvcUsagePercent / 100,
          duration: '600s',
        },
      },
    );
    if (props.cloudSqlDatabaseId) {
      const sqlCondition = (displayName: string, metric: string, threshold: number, aligner: string): MonitoringAlertPolicySpecConditions => ({
        displayName,
        conditionThreshold: {
          filter: filters.sql(metric),
          aggregations: [
            { alignmentPeriod: '300s', perSeriesAligner: aligner, crossSeriesReducer: 'REDUCE_SUM', groupByFields: ['resource.label.database_id'] },
          ],
          comparison: 'COMPARISON_GT',
          thresholdValue: threshold,
          duration: '600s',
        },
      });
      alert(
        'sql-cpu',
        'Cloud SQL CPU high',
        'WARNING',
        `Cloud SQL CPU above ${t.sqlCpuPercent}% for 10 minutes: consider a larger tier.`,
        sqlCondition('Cloud SQL CPU utilization', 'cpu/utilization', t.sqlCpuPercent / 100, 'ALIGN_MEAN'),
      );
      alert(
        'sql-disk',
        'Cloud SQL disk filling up',
        'WARNING',
        `Cloud SQL disk above ${t.sqlDiskPercent}% for 10 minutes (it grows automatically; check the growth).`,
        sqlCondition('Cloud SQL disk utilization', 'disk/utilization', t.sqlDiskPercent / 100, 'ALIGN_MEAN'),
      );
      alert(
        'sql-connections',
        'Cloud SQL connections high',
        'WARNING',
        `More than ${t.sqlConnections} open Cloud SQL connections for 10 minutes.`,
        sqlCondition('Cloud SQL connections', 'postgresql/num_backends', t.sqlConnections, 'ALIGN_MEAN'),
      );
    }

    const tile = (i: number, title: string, dataSet: Record<string, unknown>) => ({
      xPos: (i % 2) * 6,
      yPos: Math.floor(i / 2) * 4,
      width: 6,
      height: 4,
      widget: { title, xyChart: { dataSets: [{ plotType: 'LINE', ...dataSet }] } },
    });
    const filtered = (filter: string, perSeriesAligner: string, groupBy: string[]) => ({
      timeSeriesQuery: {
        timeSeriesFilter: { filter, aggregation: { alignmentPeriod: '60s', perSeriesAligner, crossSeriesReducer: 'REDUCE_SUM', groupByFields: groupBy } },
      },
    });
    const charts: [string, Record<string, unknown>][] = [
      ['MLflow requests per second by status', { timeSeriesQuery: { prometheusQuery: `sum by (status) (rate(${requests()}[5m]))` } }],
      ['MLflow 5xx share', { timeSeriesQuery: { prometheusQuery: errorRatio } }],
      ['Container restarts', filtered(filters.restarts, 'ALIGN_DELTA', ['resource.label.pod_name'])],
      ['CPU (cores) by pod', filtered(filters.cpu, 'ALIGN_RATE', ['resource.label.pod_name'])],
      ['Memory by pod', filtered(filters.memory, 'ALIGN_MEAN', ['resource.label.pod_name'])],
      ['Volume utilization by pod', filtered(filters.volumes, 'ALIGN_MAX', ['resource.label.pod_name', 'metric.label.volume_name'])],
      ...(filters.uptime
        ? [['MLflow uptime checks passed', filtered(filters.uptime, 'ALIGN_FRACTION_TRUE', ['resource.label.host'])] as [string, Record<string, unknown>]]
        : []),
      ...(props.cloudSqlDatabaseId
        ? ([
            ['Cloud SQL CPU utilization', filtered(filters.sql('cpu/utilization'), 'ALIGN_MEAN', ['resource.label.database_id'])],
            ['Cloud SQL disk utilization', filtered(filters.sql('disk/utilization'), 'ALIGN_MEAN', ['resource.label.database_id'])],
            ['Cloud SQL connections', filtered(filters.sql('postgresql/num_backends'), 'ALIGN_MEAN', ['resource.label.database_id'])],
          ] as [string, Record<string, unknown>][])
        : []),
    ];
    new ApiObject(this, 'dashboard', {
      apiVersion: 'monitoring.cnrm.cloud.google.com/v1beta1',
      kind: 'MonitoringDashboard',
      metadata: kccMetadata(s, `${p}mlflow-platform`),
      spec: {
        displayName: 'MLflow platform',
        projectRef: { external: s.project },
        mosaicLayout: { columns: 12, tiles: charts.map(([title, ds], i) => tile(i, title, ds)) },
      },
    });
  }
}
