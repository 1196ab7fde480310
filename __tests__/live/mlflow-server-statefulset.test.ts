/**
 * The rendered MLflow of config/dev.yaml (statefulset mode), run for real on PostgreSQL 17 as the
 * in-cluster StatefulSet renders it (its first start, TLS and pg_hba.conf; __tests__/live/support/scenario.ts).
 */
import * as path from 'path';
import { loadConfig } from '../../model/load';
import { PROJECT_ROOT } from '../support/render';
import { liveScenario } from './support/scenario';

liveScenario(loadConfig(path.join(PROJECT_ROOT, 'config/dev.yaml')), 17);
