/** The storage backends the gateway supports, in the order the benchmark runs them. */
export const BACKENDS = ["fs", "s3", "azure", "gcs"] as const;
export type BackendName = (typeof BACKENDS)[number];

/**
 * How to reach one running storage server: enough for the gateway's environment, for the
 * direct-SDK runner and for the naive baseline to target the same bucket on the same server.
 * Travels between processes as JSON.
 */
export type BackendEndpoint =
  | { provider: "fs"; root: string }
  | {
      provider: "s3";
      endpoint: string;
      region: string;
      bucket: string;
      accessKeyId: string;
      secretAccessKey: string;
    }
  | { provider: "azure"; connectionString: string; container: string }
  | { provider: "gcs"; apiEndpoint: string; projectId: string; bucket: string };

export function isBackendName(name: string): name is BackendName {
  return (BACKENDS as readonly string[]).includes(name);
}

/** The gateway's configuration for an endpoint, in the variable names of DESIGN.md. */
export function gatewayStorageEnv(endpoint: BackendEndpoint): Record<string, string> {
  switch (endpoint.provider) {
    case "fs":
      return { STORAGE_PROVIDER: "fs", FS_ROOT: endpoint.root };
    case "s3":
      return {
        STORAGE_PROVIDER: "s3",
        S3_BUCKET: endpoint.bucket,
        S3_REGION: endpoint.region,
        S3_ENDPOINT: endpoint.endpoint,
        S3_FORCE_PATH_STYLE: "true",
        AWS_ACCESS_KEY_ID: endpoint.accessKeyId,
        AWS_SECRET_ACCESS_KEY: endpoint.secretAccessKey,
        STORAGE_CREATE_BUCKET: "true",
      };
    case "azure":
      return {
        STORAGE_PROVIDER: "azure",
        AZURE_STORAGE_CONNECTION_STRING: endpoint.connectionString,
        AZURE_CONTAINER: endpoint.container,
        STORAGE_CREATE_BUCKET: "true",
      };
    case "gcs":
      return {
        STORAGE_PROVIDER: "gcs",
        GCS_BUCKET: endpoint.bucket,
        GCS_PROJECT_ID: endpoint.projectId,
        GCS_API_ENDPOINT: endpoint.apiEndpoint,
        STORAGE_CREATE_BUCKET: "true",
      };
  }
}

/** Reads an endpoint a parent passed to a child in `BENCH_BACKEND`. */
export function endpointFromEnv(env: NodeJS.ProcessEnv = process.env): BackendEndpoint {
  const raw = env.BENCH_BACKEND;
  if (!raw) throw new Error("BENCH_BACKEND is not set.");
  return JSON.parse(raw) as BackendEndpoint;
}
