// The registry panel's wire contract (synced traits and RPC kinds, as declared by
// `canvasback.widgets.registry.RegistryPanel`) and the rows it decodes.
import type { AnyModel } from "@anywidget/types";
import { decodeTable, tableRows } from "./arrow";

export interface ModelSummary {
  name: string;
  description: string | null;
  creation_time: number;
  last_updated_time: number | null;
  user_id: string | null;
  version_count: number;
  latest_version: number | null;
  stages: string[];
  /** Alias -> version (as a string). */
  aliases: Record<string, string>;
  tags: Record<string, string>;
}

export interface AliasMove {
  alias: string;
  from_version: number | null;
  /** null: the alias was removed. */
  to_version: number | null;
  timestamp: number;
  user_id: string;
  host: string;
}

export interface TableRun {
  run_id: string;
  run_name: string | null;
  status: string | null;
  /** Artifact folders of the run that hold an MLmodel file ("" is the root). */
  models: string[];
  /** Versions already registered from it, e.g. "digits v2". */
  registered: string[];
}

export interface ActionError {
  action: string;
  message: string;
}

/** Synced traits of the panel. */
export interface RegistryModel {
  model: string;
  models: ModelSummary[];
  versions: DataView | null;
  version_total: number;
  page: number;
  page_size: number;
  version_filter: string;
  filter_error: string;
  metric_keys: string[];
  param_keys: string[];
  available_metrics: string[];
  available_params: string[];
  history: AliasMove[];
  selected_versions: string[];
  selected_ids: string[];
  table_runs: TableRun[];
  linked: boolean;
  stages: string[];
  error: ActionError | null;
  notice: string;
  revision: number;
  poll_ms: number;
}

export type Model = AnyModel<RegistryModel>;

type Ack = { notice: string; revision: number };

/** Request kinds the panel's Python side answers. */
export interface RegistryRpc {
  set_alias: { request: { model: string; alias: string; version: string }; reply: Ack };
  delete_alias: { request: { model: string; alias: string }; reply: Ack };
  set_stage: { request: { model: string; version: string; stage: string; archive_existing: boolean }; reply: Ack };
  set_description: { request: { model: string; version: string | null; description: string | null }; reply: Ack };
  set_tag: { request: { model: string; version: string | null; key: string; value: string | null }; reply: Ack };
  register: { request: { name: string; runs: { run_id: string; path: string }[] }; reply: Ack };
  refresh: { request: Record<string, never>; reply: { revision: number } };
  poll: { request: Record<string, never>; reply: { changed: boolean; revision: number } };
}

export interface VersionRow {
  version: number;
  current_stage: string;
  description: string | null;
  creation_time: number;
  last_updated_time: number | null;
  user_id: string | null;
  source: string | null;
  run_id: string | null;
  aliases: string[];
  tags: { key: string; value: string }[];
  run_name: string | null;
  run_status: string | null;
  experiment_id: string | null;
  run_lifecycle: string | null;
  [column: string]: unknown;
}

/** The page of versions Python sent (newest first); empty when there is none. */
export function decodeVersions(bytes: DataView | null | undefined): VersionRow[] {
  if (!bytes || bytes.byteLength === 0) return [];
  return tableRows(decodeTable(bytes)).map((row) => ({
    ...row,
    aliases: Array.from((row.aliases as ArrayLike<string> | null) ?? []),
    tags: Array.from((row.tags as ArrayLike<{ key: string; value: string }> | null) ?? []),
  })) as VersionRow[];
}

/** The selection key of a version: names cannot hold '/', so it splits back unambiguously. */
export function versionKey(model: string, version: number | string): string {
  return `${model}/${version}`;
}
