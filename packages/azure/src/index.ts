export {
  AzureBlobAdapter,
  DEFAULT_BUFFER_SIZE,
  DEFAULT_CONCURRENCY,
  type AzureBlobAdapterOptions,
  type AzureBlobTuning,
} from "./adapter.ts";
export type {
  AzureBlobConnection,
  AzureCredentialKind,
  ConnectionStringConnection,
  ContainerClientConnection,
  EntraIdConnection,
  SasConnection,
  SharedKeyConnection,
} from "./connection.ts";
export * from "./rules.ts";
export { findUncommittedBlocks } from "./uncommitted.ts";
