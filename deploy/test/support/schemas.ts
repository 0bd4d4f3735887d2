import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { ExternalSecret } from "@kubernetes-models/external-secrets/external-secrets.io/v1";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import {
  ConfigMap,
  Namespace,
  PersistentVolumeClaim,
  Secret,
  Service,
  ServiceAccount,
} from "kubernetes-models/v1";
import type { K8sObject } from "./kustomize.ts";

/**
 * Every kind the manifests use, with its model: `validate()` checks an object against the
 * JSON schema generated from the Kubernetes OpenAPI (kubernetes-models 5: the 1.34 API, with
 * resource.k8s.io/v1 and the pod's hostnameOverride) or from the CRD (ServiceMonitor,
 * ExternalSecret), and the model's TypeScript interface lists the known fields for the
 * strict check below.
 */
interface Model {
  validate(): void;
}
type ModelClass = new (data: never) => Model;
/** apiVersion/kind → the model class and the module exporting it and its `I<Kind>` type. */
const MODELS: Record<string, [ModelClass, string]> = {
  "v1/Namespace": [Namespace, "kubernetes-models/v1"],
  "v1/ServiceAccount": [ServiceAccount, "kubernetes-models/v1"],
  "v1/ConfigMap": [ConfigMap, "kubernetes-models/v1"],
  "v1/Secret": [Secret, "kubernetes-models/v1"],
  "v1/Service": [Service, "kubernetes-models/v1"],
  "v1/PersistentVolumeClaim": [PersistentVolumeClaim, "kubernetes-models/v1"],
  "apps/v1/Deployment": [Deployment, "kubernetes-models/apps/v1"],
  "policy/v1/PodDisruptionBudget": [PodDisruptionBudget, "kubernetes-models/policy/v1"],
  "autoscaling/v2/HorizontalPodAutoscaler": [
    HorizontalPodAutoscaler,
    "kubernetes-models/autoscaling/v2",
  ],
  "networking.k8s.io/v1/Ingress": [Ingress, "kubernetes-models/networking.k8s.io/v1"],
  "monitoring.coreos.com/v1/ServiceMonitor": [
    ServiceMonitor,
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
  ],
  "external-secrets.io/v1/ExternalSecret": [
    ExternalSecret,
    "@kubernetes-models/external-secrets/external-secrets.io/v1",
  ],
};

export const objectName = (o: K8sObject) => `${o.kind} ${o.metadata?.name ?? "(unnamed)"}`;

function modelOf(o: K8sObject): { Class: ModelClass; module: string; type: string } {
  const model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!model)
    throw new Error(`no schema for ${o.apiVersion} ${o.kind}: add its model to schemas.ts`);
  return { Class: model[0], module: `${model[1]}/${o.kind}`, type: `I${o.kind}` };
}

/** Schema violations of each object, as "<Kind> <name>: <message>". */
export function schemaErrors(objects: K8sObject[]): string[] {
  return objects.flatMap((o) => {
    try {
      new (modelOf(o).Class)(structuredClone(o) as never).validate();
      return [];
    } catch (err) {
      return [`${objectName(o)}: ${(err as Error).message}`];
    }
  });
}

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * Fields the API does not know. The JSON schemas accept them (Kubernetes' OpenAPI leaves
 * objects open), but `kubectl apply` validates strictly and refuses them, and a misspelt
 * field that slipped through would be silently dropped: a probe or limit that never applies.
 * Each object is type-checked as an object literal of its model's interface, so TypeScript's
 * excess-property check names every unknown field at any depth.
 */
export function unknownFieldErrors(objects: K8sObject[]): string[] {
  const file = join(HERE, "__rendered-objects__.ts");
  const lines = objects.flatMap((o, i) => {
    const { module, type } = modelOf(o);
    return [
      `import type { ${type} as T${i} } from "${module}";`,
      `export const o${i}: T${i} = ${JSON.stringify(o)};`,
    ];
  });
  const text = lines.join("\n");
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? text : readFile.call(host, name));
  host.getSourceFile = (name, version, ...rest) =>
    name === file
      ? ts.createSourceFile(name, text, version)
      : getSourceFile.call(host, name, version, ...rest);
  const program = ts.createProgram([file], options, host);
  const source = program.getSourceFile(file);
  return ts.getPreEmitDiagnostics(program, source).map((d) => {
    const line =
      d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const object = objects[Math.floor(line / 2)];
    const message = ts.flattenDiagnosticMessageText(d.messageText, " ");
    return `${object ? objectName(object) : "?"}: ${message}`;
  });
}
