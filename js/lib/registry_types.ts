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
  /** Moved with force=True past a protection (or a gate that allows force). */
  forced?: boolean;
  /** What a forced move passed over, in words. */
  overrode?: string | null;
}

export interface Protection {
  user_id: string | null;
  host: string | null;
  timestamp: number;
  reason: string | null;
}

export interface GateInfo {
  gate: string;
  /** The stored filter; null for a Python check of the kernel. */
  filter: string | null;
  python: boolean;
  allow_force: boolean;
}

/** An alias of the shown model that is set, protected or gated. */
export interface AliasGuard {
  alias: string;
  /** The version it points at; null if it is not set. */
  version: number | null;
  protected: Protection | null;
  gates: GateInfo[];
}

export interface DatasetNode {
  name: string;
  digest: string;
  source: string;
  source_type: string;
  context: string;
  schema: Record<string, unknown>;
  profile: Record<string, unknown>;
}

export interface LineageRun {
  run_id: string;
  run_name: string | null;
  experiment_id: string | null;
  status: string | null;
  git_commit: string | null;
  code: Record<string, string>;
  environment: Record<string, string>;
}

/** The lineage of one version (see widgets/_registry_lineage.py); {} when none is selected. */
export interface Lineage {
  key: string;
  name: string;
  version: number;
  source: string;
  artifact_path: string | null;
  logged_model_id: string | null;
  run: LineageRun | null;
  datasets: DatasetNode[];
  aliases: string[];
  past_aliases: string[];
  moves: AliasMove[];
}

export interface GateCheck {
  gate: string;
  /** Why the version fails it; null: it passes. */
  why: string | null;
}

export interface CompareSide {
  key: string;
  name: string;
  version: number;
  stage: string;
  run_id: string | null;
  run_name: string | null;
  aliases: string[];
  evaluation: { summary: string | null; run_id: string | null; metrics: Record<string, number | string> } | null;
  datasets: { name: string; digest: string; context: string }[];
  git_commit: string | null;
  logged_model_id: string | null;
  /** Alias -> its gates, each with why this version fails it (null: passes). */
  gate_checks: Record<string, GateCheck[]>;
}

/** Two versions side by side (see widgets/_registry_compare.py); {} for fewer selected. */
export interface Comparison {
  versions: CompareSide[];
  /** Only the params whose values differ. */
  params: { key: string; values: (string | null)[] }[];
  same_params: number;
  metrics: { key: string; values: (number | string | null)[] }[];
}

/** A delivery whose latest attempt failed (see widgets/_registry_hooks.py). */
export interface FailedDelivery {
  delivery_id: string;
  hook_id: string;
  /** The hook's target, short. */
  hook: string;
  event: string;
  /** When its latest attempt was made (ms). */
  timestamp: number;
  attempts: number;
  error: string;
}

/** A hook that fires for the shown model; its secret never leaves Python. */
export interface HookInfo {
  hook_id: string;
  events: string[];
  /** It follows every model, not this one alone. */
  every_model: boolean;
  target_type: "url" | "command";
  /** A URL (its password and query values hidden) or a command. */
  target: string;
  signed: boolean;
  /** The environment variable its secret is read from (its name, not the secret). */
  secret_env: string | null;
  /** Whether this kernel runs it (a command hook runs only where trusted). */
  runs_here: boolean;
  user_id: string | null;
  creation_time: number;
}

export interface TrainedOn {
  name: string;
  version: number;
  run_id: string | null;
  run_name: string | null;
  context: string;
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
  /** For a move refused by gates: each gate and the values that fail it. */
  failures?: { alias: string; gate: string; why: string }[];
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
  alias_guards: AliasGuard[];
  lineage: Lineage | Record<string, never>;
  comparison: Comparison | Record<string, never>;
  hooks: HookInfo[];
  /** Version (as text) -> its failed hook deliveries, newest first. */
  failed_deliveries: Record<string, FailedDelivery[]>;
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
  set_alias: { request: { model: string; alias: string; version: string; force?: boolean }; reply: Ack };
  delete_alias: { request: { model: string; alias: string; force?: boolean }; reply: Ack };
  set_stage: { request: { model: string; version: string; stage: string; archive_existing: boolean }; reply: Ack };
  set_description: { request: { model: string; version: string | null; description: string | null }; reply: Ack };
  set_tag: { request: { model: string; version: string | null; key: string; value: string | null }; reply: Ack };
  register: { request: { name: string; runs: { run_id: string; path: string }[] }; reply: Ack };
  /** Sends again the failed deliveries of a version (or, version null, of the model). */
  retry_hooks: { request: { model: string; version: string | null }; reply: Ack };
  dataset_versions: { request: { digest: string }; reply: { digest: string; versions: TrainedOn[] } };
  open_run: { request: { run_id: string }; reply: { opened: boolean } };
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

/** The lineage trait, or null when it is empty (nothing selected). */
export function lineageOf(value: Lineage | Record<string, never> | null | undefined): Lineage | null {
  return value && "key" in value ? (value as Lineage) : null;
}

/** The comparison trait, or null when it is empty (fewer than two selected). */
export function comparisonOf(value: Comparison | Record<string, never> | null | undefined): Comparison | null {
  return value && "versions" in value ? (value as Comparison) : null;
}
