/**
 * What each overlay is for: s3 scales out (autoscaler, disruption budget, a cloud identity
 * instead of keys), single-node-fs stays one pod on one volume, and the external-secrets
 * component swaps the Secret template for the operator's secret manager.
 */
import { describe, expect, it } from "vitest";
import type { IExternalSecret } from "@kubernetes-models/external-secrets/external-secrets.io/v1/ExternalSecret";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IPersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { loadConfig } from "@mediagate/gateway";
import { all, one, rendered } from "./support/kustomize.ts";
import { containerEnv, gatewayContainer } from "./support/gateway.ts";

const deploymentOf = (target: string) => one<IDeployment>(rendered(target), "Deployment");

describe("overlays/s3", () => {
  const objects = rendered("overlays/s3");

  it("leaves the replica count to an autoscaler that keeps two or more, on CPU", () => {
    expect(deploymentOf("overlays/s3").spec?.replicas).toBeUndefined();
    const hpa = one<IHorizontalPodAutoscaler>(objects, "HorizontalPodAutoscaler");
    expect(hpa.spec?.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec?.scaleTargetRef).toMatchObject({ kind: "Deployment", name: "mediagate" });
    expect(hpa.spec?.metrics?.map((m) => [m.resource?.name, m.resource?.target.type])).toEqual([
      ["cpu", "Utilization"],
    ]);
  });

  it("lets voluntary disruptions take one pod at a time", () => {
    const pdb = one<IPodDisruptionBudget>(objects, "PodDisruptionBudget");
    const labels = deploymentOf("overlays/s3").spec?.template.metadata?.labels ?? {};
    const selector = Object.entries(pdb.spec?.selector?.matchLabels ?? {});
    expect(selector.length).toBeGreaterThan(0);
    expect(selector.every(([k, v]) => labels[k] === v)).toBe(true);
    expect(pdb.spec?.maxUnavailable).toBe(1);
  });

  it("rolls out a new pod before an old one drains", () => {
    expect(deploymentOf("overlays/s3").spec?.strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
  });

  it("takes S3 credentials from an IAM role on the service account, not from keys", () => {
    const account = one(objects, "ServiceAccount");
    expect(account.metadata.annotations?.["eks.amazonaws.com/role-arn"]).toMatch(
      /^arn:aws:iam::\d{12}:role\/./,
    );
    const env = containerEnv(objects);
    expect(env.AWS_ACCESS_KEY_ID).toBeUndefined();
    expect(env.AWS_SECRET_ACCESS_KEY).toBeUndefined();
  });
});

describe("overlays/single-node-fs", () => {
  const objects = rendered("overlays/single-node-fs");

  it("runs one pod, replaced (never two at once), without autoscaler or budget", () => {
    const deployment = deploymentOf("overlays/single-node-fs");
    expect(deployment.spec?.replicas).toBe(1);
    expect(deployment.spec?.strategy).toEqual({ type: "Recreate" });
    expect(all(objects, "HorizontalPodAutoscaler")).toEqual([]);
    expect(all(objects, "PodDisruptionBudget")).toEqual([]);
  });

  it("keeps the media and the SQLite ledger apart on one ReadWriteOnce claim", () => {
    const claim = one<IPersistentVolumeClaim>(objects, "PersistentVolumeClaim");
    expect(claim.spec?.accessModes).toEqual(["ReadWriteOnce"]);
    const env = containerEnv(objects, { AUTH_TOKENS: "k8s-test-upload-token-0123456789" });
    const fsRoot = (loadConfig(env, "/app").storage.env as { FS_ROOT: string }).FS_ROOT;
    const ledger = env.LEDGER_PATH ?? "";
    const mounts = gatewayContainer(objects).volumeMounts ?? [];
    const volumes = deploymentOf("overlays/single-node-fs").spec?.template.spec?.volumes ?? [];
    for (const path of [fsRoot, ledger]) {
      const mount = mounts.find((m) => path.startsWith(`${m.mountPath}/`));
      const volume = volumes.find((v) => v.name === mount?.name);
      expect(volume?.persistentVolumeClaim?.claimName, path).toBe(claim.metadata?.name);
    }
    // Not inside FS_ROOT, where `ledger verify` would take the file for an object.
    expect(ledger.startsWith(`${fsRoot}/`)).toBe(false);
  });
});

describe("overlays/s3 + components/external-secrets", () => {
  const objects = rendered("overlays/s3 + external-secrets");

  it("replaces the template with an ExternalSecret that makes the Secret the pod reads", () => {
    expect(all(objects, "Secret")).toEqual([]);
    const external = one<IExternalSecret>(objects, "ExternalSecret");
    const secretRef = gatewayContainer(objects).envFrom?.find((s) => s.secretRef)?.secretRef;
    expect(external.spec?.target?.name).toBe(secretRef?.name);
    expect(external.metadata?.namespace).toBe("mediagate");
  });
});
