/**
 * The environment the manifests give the gateway, checked with the gateway's own
 * configuration loader: every variable is one it reads, the whole is a configuration it
 * accepts once the operator's secrets are in (and refuses as shipped), secrets stay out of
 * the ConfigMap, and shutdown, spool and timeouts fit the pod and the ingress around it.
 */
import { describe, expect, it } from "vitest";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import { loadConfig } from "@mediagate/gateway";
import { all, one, OVERLAYS, rendered, type K8sObject } from "./support/kustomize.ts";
import {
  containerEnv,
  gatewayContainer,
  knownVariables,
  NOT_YET_IN_SCHEMA,
  quantity,
  secretValues,
} from "./support/gateway.ts";

const BACKENDS: Record<string, string> = {
  "overlays/s3": "s3",
  "overlays/single-node-fs": "fs",
  "overlays/s3 + external-secrets": "s3",
};

/** What a secret manager supplies in production. */
const OPERATOR_SECRETS = {
  AUTH_TOKENS: "k8s-test-upload-token-0123456789",
  LEDGER_URL: "postgres://mediagate:ledger-password@postgres:5432/mediagate",
};

/** Names that hold a credential wherever they are set. */
const SECRET_NAME =
  /(TOKENS?|SECRETS?|_KEYS?|PASSWORD|CREDENTIALS|CONNECTION_STRING)$|^LEDGER_URL$/;
/** The gateway's worst case past SHUTDOWN_TIMEOUT: aborted uploads clean up (10 s), logs flush (2 s). */
const AFTER_SHUTDOWN_TIMEOUT_S = 12;

/** The volume a path is on: the one mounted at the longest path containing it. */
function volumeAt(objects: K8sObject[], path: string) {
  const mount = (gatewayContainer(objects).volumeMounts ?? [])
    .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  const pod = one<IDeployment>(objects, "Deployment").spec?.template.spec;
  return pod?.volumes?.find((v) => v.name === mount?.name);
}

describe.each(OVERLAYS)("%s", (target) => {
  const objects = rendered(target);
  const env = containerEnv(objects, OPERATOR_SECRETS);
  const config = () => loadConfig(env, "/app");

  it("sets only variables the gateway's configuration schema reads", () => {
    const known = knownVariables();
    const unknown = Object.keys(env).filter((v) => !known.has(v) && !(v in NOT_YET_IN_SCHEMA));
    expect(unknown).toEqual([]);
  });

  it(`is a configuration the gateway accepts once the secrets are in, on ${BACKENDS[target]}`, () => {
    const loaded = config();
    expect(loaded.storage.provider.name).toBe(BACKENDS[target]);
    expect(loaded.server).toMatchObject({ production: true, port: 8080, trustProxy: 1 });
    expect(loaded.auth.tokens).toEqual([OPERATOR_SECRETS.AUTH_TOKENS]);
  });

  it("gives uploads in flight their SHUTDOWN_TIMEOUT before the kubelet's SIGKILL", () => {
    const pod = one<IDeployment>(objects, "Deployment").spec?.template.spec;
    const preStop = gatewayContainer(objects).lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(preStop).toBeGreaterThan(0);
    const needed = preStop + config().server.shutdownTimeoutMs / 1000 + AFTER_SHUTDOWN_TIMEOUT_S;
    expect(pod?.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(needed);
  });

  it("serves metrics on the container's metrics port, uploads on its http port", () => {
    const ports = Object.fromEntries(
      (gatewayContainer(objects).ports ?? []).map((p) => [p.name, p.containerPort]),
    );
    expect(Number(env.METRICS_PORT)).toBe(ports.metrics);
    expect(config().server.port).toBe(ports.http);
  });

  it("spools on an emptyDir larger than SPOOL_MAX_BYTES, and has a writable /tmp", () => {
    const { spool } = config().upload;
    expect(spool.dir).toBe("/var/spool/mediagate");
    const limit = volumeAt(objects, spool.dir ?? "")?.emptyDir?.sizeLimit;
    expect(quantity(limit ?? 0)).toBeGreaterThan(spool.maxBytes);
    expect(volumeAt(objects, "/tmp")?.emptyDir).toBeDefined();
  });

  it("answers a stalled storage write itself, before the ingress gives up on it", () => {
    const annotations = one(objects, "Ingress").metadata.annotations ?? {};
    const timeout = Number(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]);
    expect(timeout * 1000).toBeGreaterThan(config().upload.storageTimeoutMs);
  });

  it("keeps every secret out of the ConfigMap", () => {
    const configMap = one(objects, "ConfigMap").data as Record<string, string>;
    const secretKeys = all(objects, "Secret").flatMap((s) => Object.keys(secretValues(s)));
    for (const key of Object.keys(configMap)) {
      expect(secretKeys, key).not.toContain(key);
      expect(key).not.toMatch(SECRET_NAME);
    }
    for (const value of Object.values(configMap)) {
      expect(URL.canParse(value) && new URL(value).password, value).toBeFalsy();
    }
  });
});

describe("the Secret template", () => {
  const objects = rendered("overlays/s3");
  const template = one(objects, "Secret", "mediagate-secrets");

  it("holds only credentials, every one empty", () => {
    const values = secretValues(template);
    expect(Object.keys(values).sort()).toEqual([
      "ADMIN_TOKENS",
      "AUTH_SIGNING_SECRETS",
      "AUTH_TOKENS",
      "ENCRYPTION_KEYS",
      "LEDGER_URL",
    ]);
    for (const [key, value] of Object.entries(values)) {
      expect(key).toMatch(SECRET_NAME);
      expect(value, key).toBe("");
    }
  });

  it("as shipped, stops the gateway from starting, naming AUTH_TOKENS", () => {
    expect(() => loadConfig(containerEnv(objects), "/app")).toThrow(
      /AUTH_TOKENS is required when NODE_ENV=production/,
    );
  });
});

it("every variable awaiting the schema is one the manifests set", () => {
  const set = new Set(
    OVERLAYS.flatMap((target) => Object.keys(containerEnv(rendered(target), OPERATOR_SECRETS))),
  );
  expect(Object.keys(NOT_YET_IN_SCHEMA).filter((v) => !set.has(v))).toEqual([]);
});
