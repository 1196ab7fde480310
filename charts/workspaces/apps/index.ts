/**
 * The workspace apps the charts render, in apply order: one file per app. Adding an app takes its
 * file here, its section in config/schema/workspaces.ts (and its id in WORKSPACE_APPS there), and
 * its scripts.
 */
import type { WorkspaceAppDefinition } from '../app-definition';
import { jupyter } from './jupyter';
import { vscode } from './vscode';

export const WORKSPACE_APP_REGISTRY: readonly WorkspaceAppDefinition[] = [jupyter, vscode];
