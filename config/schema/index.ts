/**
 * The one config schema: TypeScript types, defaults, error messages and the JSON Schema that editors
 * use all come from here. The shape is in base.ts; the rules that span sections in rules.ts.
 */
import { z } from 'zod';
import { configShape } from './base';
import { crossFieldRules } from './rules';

export type { Config } from './base';

export const configSchema = configShape.superRefine((config, ctx) => crossFieldRules.forEach((rule) => rule(config, ctx))).describe('mlflow-gke configuration');

/** The config as a file states it (defaults optional). */
export type ConfigInput = z.input<typeof configSchema>;
