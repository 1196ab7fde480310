/**
 * The rendered MLflow of the default config (cloudsql mode), run for real on PostgreSQL 15 laid out as
 * Cloud SQL (__tests__/live/support/scenario.ts).
 */
import { loadConfig } from '../../model/load';
import { liveScenario } from './support/scenario';

liveScenario(loadConfig(), 15);
