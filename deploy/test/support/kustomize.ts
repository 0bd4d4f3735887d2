import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments, stringify } from "yaml";

/**
 * Renders kustomizations with the real kustomize, the one `kubectl apply -k` runs (kubectl
 * has it built in; a standalone `kustomize` binary is preferred when there is one), so what
 * the tests check is exactly what an operator applies.
 */

export const KUSTOMIZE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../kubernetes");

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

function onPath(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

let tool: { command: string; args: string[] } | undefined;

/** `kustomize build` or `kubectl kustomize`, whichever is installed. */
export function kustomizeTool(): { command: string; args: string[] } {
  if (tool) return tool;
  if (onPath("kustomize", ["version"])) tool = { command: "kustomize", args: ["build"] };
  else if (onPath("kubectl", ["version", "--client"])) {
    tool = { command: "kubectl", args: ["kustomize"] };
  } else {
    throw new Error(
      "rendering the manifests needs kustomize: install kubectl (it has kustomize built in) or kustomize",
    );
  }
  return tool;
}

/** The objects `kubectl apply -k <dir>` would send, in kustomize's output order. */
export function render(dir: string): K8sObject[] {
  const { command, args } = kustomizeTool();
  let output: string;
  try {
    output = execFileSync(command, [...args, dir], {
      encoding: "utf8",
      maxBuffer: 16 * 1024 * 1024,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`${command} ${args.join(" ")} ${dir} failed: ${stderr.trim()}`, { cause: err });
  }
  return parseAllDocuments(output).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`unparsable output: ${doc.errors[0]?.message}`);
    return doc.toJS() as K8sObject;
  });
}

/**
 * Renders `overlay` with extra components, as an operator gets by adding them to its
 * `components:` list: a kustomization in a temp folder over the overlay, with its namespace
 * and labels so the components' objects get them too (kustomize refuses absolute paths, and
 * files outside a kustomization's folder, so the overlay itself cannot be copied).
 */
export function renderWithComponents(overlay: string, components: string[]): K8sObject[] {
  const overlayDir = join(KUSTOMIZE_ROOT, overlay);
  const spec = parse(readFileSync(join(overlayDir, "kustomization.yaml"), "utf8")) as Record<
    string,
    unknown
  >;
  const dir = mkdtempSync(join(tmpdir(), "mediagate-kustomize-"));
  try {
    const wrapper = {
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      namespace: spec.namespace,
      labels: spec.labels,
      resources: [relative(dir, overlayDir)],
      components: components.map((c) => relative(dir, join(KUSTOMIZE_ROOT, c))),
    };
    writeFileSync(join(dir, "kustomization.yaml"), stringify(wrapper));
    return render(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the tests render: the base, each overlay, and s3 with its secrets from a manager. */
export const OVERLAYS = [
  "overlays/s3",
  "overlays/single-node-fs",
  "overlays/s3 + external-secrets",
];
export const TARGETS = ["base", ...OVERLAYS];

const renders = new Map<string, K8sObject[]>();

/** A target of TARGETS, rendered once per test file; each call gets its own copy. */
export function rendered(target: string): K8sObject[] {
  let objects = renders.get(target);
  if (!objects) {
    objects =
      target === "overlays/s3 + external-secrets"
        ? renderWithComponents("overlays/s3", ["components/external-secrets"])
        : render(join(KUSTOMIZE_ROOT, target));
    renders.set(target, objects);
  }
  return structuredClone(objects);
}

/** The one object of `kind` (and `name`), or a failure naming what is missing. */
export function one<T = K8sObject>(objects: K8sObject[], kind: string, name?: string): T {
  const found = objects.filter((o) => o.kind === kind && (!name || o.metadata.name === name));
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  }
  return found[0] as T;
}

export function all(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}
