/**
 * The Kubernetes manifests as `kubectl apply -k` sends them: each overlay (and the base, and
 * the s3 overlay with the external-secrets component) rendered by the real kustomize, every
 * object validated against the Kubernetes and CRD schemas and checked for unknown fields,
 * then the invariants the gateway depends on: probes, ports, selectors, hardening, sizing.
 */
import { describe, expect, it } from "vitest";
import type { IServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IIngress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import type { IService } from "kubernetes-models/v1/Service";
import { all, OVERLAYS, one, rendered, TARGETS, type K8sObject } from "./support/kustomize.ts";
import { schemaErrors, unknownFieldErrors } from "./support/schemas.ts";
import {
  benchmarkPeakRssMiB,
  containerPort,
  dockerfileCommand,
  gatewayContainer,
  gatewayVersion,
  quantity,
} from "./support/gateway.ts";

const NAMESPACE = "mediagate";
const POD_LABELS = {
  "app.kubernetes.io/name": "mediagate",
  "app.kubernetes.io/component": "gateway",
};

const podOf = (objects: K8sObject[]) =>
  one<IDeployment>(objects, "Deployment", "mediagate").spec?.template;
/** A non-empty equality selector that every label of `labels` satisfies. */
const selects = (selector: Record<string, string> = {}, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

describe("rendering and schemas", () => {
  it.each(TARGETS)("%s renders, and every object is valid for its schema", (target) => {
    const objects = rendered(target);
    expect(objects.length).toBeGreaterThan(5);
    expect(schemaErrors(objects)).toEqual([]);
  });

  it("no object sets a field the API does not know", () => {
    expect(unknownFieldErrors(TARGETS.flatMap(rendered))).toEqual([]);
  });

  it("the checks catch a misspelt field, a wrong type and an unknown kind", () => {
    const objects = rendered("overlays/s3");
    const deployment = one(objects, "Deployment");
    (deployment.spec as Record<string, unknown>).replicas = "two";
    Object.assign(gatewayContainer(objects), { livenessProbes: {} });
    expect(schemaErrors([deployment]).join()).toMatch(/replicas must be integer/);
    expect(unknownFieldErrors([deployment]).join()).toMatch(
      /livenessProbes.*does not exist in type 'IContainer'/,
    );
    const gadget = { apiVersion: "v9", kind: "Gadget", metadata: { name: "x" } };
    expect(schemaErrors([gadget]).join()).toMatch(/no schema for v9 Gadget/);
  });

  it.each(OVERLAYS)("%s: each object once, in a restricted namespace, labelled", (target) => {
    const objects = rendered(target);
    const ids = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
    const namespace = one(objects, "Namespace", NAMESPACE);
    expect(namespace.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    for (const o of objects.filter((o) => o.kind !== "Namespace")) {
      const id = `${o.kind} ${o.metadata.name}`;
      expect(o.metadata.namespace, id).toBe(NAMESPACE);
      expect(o.metadata.labels?.["app.kubernetes.io/part-of"], id).toBe("mediagate");
    }
  });
});

describe.each(OVERLAYS)("%s", (target) => {
  const objects = () => rendered(target);

  it("probes: startup and liveness on /healthz, readiness on /readyz, on the gateway's port", () => {
    const container = gatewayContainer(objects());
    const probes = {
      startup: container.startupProbe?.httpGet,
      liveness: container.livenessProbe?.httpGet,
      readiness: container.readinessProbe?.httpGet,
    };
    expect(probes).toMatchObject({
      startup: { path: "/healthz" },
      liveness: { path: "/healthz" },
      readiness: { path: "/readyz" },
    });
    for (const [name, probe] of Object.entries(probes)) {
      expect(containerPort(container, probe?.port), name).toBe(8080);
    }
  });

  it("runs the image's own command, at the gateway's version", () => {
    const container = gatewayContainer(objects());
    expect(container.command).toEqual(dockerfileCommand());
    expect(container.image).toBe(`mediagate/gateway:${gatewayVersion()}`);
  });

  it("is hardened: non-root, read-only root, no escalation, no capabilities, seccomp", () => {
    const spec = podOf(objects())?.spec;
    expect(spec?.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(spec?.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(gatewayContainer(objects()).securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(spec?.serviceAccountName).toBe(one(objects(), "ServiceAccount").metadata.name);
    expect(spec?.automountServiceAccountToken).toBe(false);
  });

  it("requests CPU and memory, caps memory above the benchmark's peak, no CPU limit", () => {
    const { requests = {}, limits = {} } = gatewayContainer(objects()).resources ?? {};
    expect(quantity(requests.cpu ?? 0)).toBeGreaterThan(0);
    expect(limits.cpu).toBeUndefined();
    const limit = quantity(limits.memory ?? 0);
    const peak = benchmarkPeakRssMiB();
    // A quarter above the worst peak measured, so an OOM kill never drops uploads in flight.
    const floor = peak.mib * 1.25 * 2 ** 20;
    expect(limit, `peak ${peak.mib} MiB in ${peak.row}`).toBeGreaterThanOrEqual(floor);
    expect(quantity(requests.memory ?? 0)).toBeLessThanOrEqual(limit);
  });

  it("the Service selects the pods, and its ports reach the container's", () => {
    const service = one<IService>(objects(), "Service");
    expect(service.spec?.selector).toEqual(POD_LABELS);
    expect(selects(service.spec?.selector, podOf(objects())?.metadata?.labels)).toBe(true);
    const container = gatewayContainer(objects());
    const ports = Object.fromEntries(
      (service.spec?.ports ?? []).map((p) => [
        p.name,
        [p.port, containerPort(container, p.targetPort)],
      ]),
    );
    expect(ports).toEqual({ http: [80, 8080], metrics: [9464, 9464] });
  });

  it("the ServiceMonitor selects the Service and scrapes its metrics port", () => {
    const service = one<IService>(objects(), "Service");
    const monitor = one<IServiceMonitor>(objects(), "ServiceMonitor");
    expect(monitor.metadata?.namespace).toBe(service.metadata?.namespace);
    expect(selects(monitor.spec.selector.matchLabels, service.metadata?.labels)).toBe(true);
    const endpoints = (monitor.spec.endpoints ?? []).map((e) => [e.port, e.path]);
    expect(endpoints).toEqual([["metrics", "/metrics"]]);
    expect(service.spec?.ports?.map((p) => p.name)).toContain("metrics");
  });

  it("every name the pod refers to exists: ConfigMap, Secret, volume claims, mounts", () => {
    const everything = objects();
    const spec = podOf(everything)?.spec;
    const exists = (kind: string, name = "") =>
      everything.some((o) => o.kind === kind && o.metadata.name === name) ||
      // An ExternalSecret makes the Secret it targets.
      (kind === "Secret" &&
        all(everything, "ExternalSecret").some(
          (o) => (o.spec as { target?: { name?: string } }).target?.name === name,
        ));
    const container = gatewayContainer(everything);
    const refs = (container.envFrom ?? []).map((source) =>
      source.configMapRef
        ? ["ConfigMap", source.configMapRef.name]
        : ["Secret", source.secretRef?.name],
    );
    expect(refs.map(([kind]) => kind)).toEqual(["ConfigMap", "Secret"]);
    const claims = (spec?.volumes ?? []).flatMap((v) =>
      v.persistentVolumeClaim ? [["PersistentVolumeClaim", v.persistentVolumeClaim.claimName]] : [],
    );
    for (const [kind = "", name] of [...refs, ...claims]) {
      expect(exists(kind, name), `${kind} ${name}`).toBe(true);
    }
    const mounted = (container.volumeMounts ?? []).map((m) => m.name).sort();
    expect(mounted).toEqual((spec?.volumes ?? []).map((v) => v.name).sort());
  });

  it("the Ingress routes the host of PUBLIC_BASE_URL to the Service's http port, streaming", () => {
    const ingress = one<IIngress>(objects(), "Ingress");
    const config = one(objects(), "ConfigMap").data as Record<string, string>;
    const rules = ingress.spec?.rules ?? [];
    expect(rules.map((r) => r.host)).toEqual([new URL(config.PUBLIC_BASE_URL ?? "").host]);
    expect(rules[0]?.http?.paths.map((p) => p.backend.service)).toEqual([
      { name: "mediagate", port: { name: "http" } },
    ]);
    // Streamed through, and no nginx size limit answering HTML before the gateway's JSON.
    const annotation = (name: string) =>
      ingress.metadata?.annotations?.[`nginx.ingress.kubernetes.io/${name}`];
    expect(annotation("proxy-request-buffering")).toBe("off");
    expect(annotation("proxy-body-size")).toBe("0");
  });
});
