/**
 * Operations: Prometheus metrics at /metrics (or on METRICS_PORT), and OpenTelemetry traces
 * sent to a real OTLP/HTTP receiver the test starts, tied to the request's log line. Also
 * checks the Grafana dashboard in the repo only uses metrics the gateway exports.
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Metrics } from "../src/observability/metrics.ts";
import { TOKEN } from "./support/backend-session.ts";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.ts";
import { postForm, send } from "./support/http.ts";
import type { Part } from "./support/multipart.ts";

const form = (auth = TOKEN): Part[] => [
  { name: "op", value: "upload" },
  { name: "auth", value: auth },
  { name: "uid", value: "4242" },
  { name: "mid", value: "1" },
  { name: "file", filename: "a.txt", type: "text/plain", body: "observe me" },
];

/** The value of a sample line `name{labels} value` in Prometheus' text format. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return undefined;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mediagate-observability-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("Prometheus metrics", () => {
  let gateway: GatewayProcess;
  beforeAll(async () => {
    gateway = await startGatewayProcess({ FS_ROOT: join(dir, "m"), AUTH_TOKENS: TOKEN });
  });
  afterAll(() => gateway?.stop());

  it("count uploads by result, bytes both ways, durations and storage operations", async () => {
    const ok = await postForm(`${gateway.url}/upload`, form());
    await postForm(`${gateway.url}/upload`, form());
    const refused = await postForm(`${gateway.url}/upload`, form("wrong-token-0123456789"));
    expect(refused.status).toBe(401);
    const url = (ok.json as { url: string }).url;
    expect((await send(url)).status).toBe(200);
    const answer = await send(`${gateway.url}/metrics`);
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toMatch(/^text\/plain/);
    const text = answer.text;
    expect(sample(text, "mediagate_uploads_total", { result: "stored", backend: "fs" })).toBe(2);
    expect(sample(text, "mediagate_uploads_total", { result: "UNAUTHORIZED" })).toBe(1);
    expect(sample(text, "mediagate_upload_bytes_total", { backend: "fs" })).toBe(20);
    expect(sample(text, "mediagate_download_bytes_total", { backend: "fs" })).toBe(10);
    expect(
      sample(text, "mediagate_http_request_duration_seconds_count", {
        route: "upload",
        status: "2xx",
      }),
    ).toBe(2);
    expect(
      sample(text, "mediagate_storage_operation_duration_seconds_count", {
        operation: "write",
        outcome: "ok",
      }),
    ).toBe(2);
    expect(sample(text, "mediagate_uploads_in_flight")).toBe(0);
    expect(sample(text, "mediagate_ledger_records_total", { outcome: "recorded" })).toBe(2);
    // No unbounded label values: no key, no uid, no path.
    expect(text).not.toContain(url.split("/files/")[1]);
    expect(text).not.toContain("4242");
  });
});

describe("metrics on their own port, or off", () => {
  it("serves /metrics on METRICS_PORT only, and nowhere with METRICS=off", async () => {
    const separate = await startGatewayProcess({
      FS_ROOT: join(dir, "p"),
      AUTH_TOKENS: TOKEN,
      METRICS_PORT: "0",
      METRICS_HOST: "127.0.0.1",
    });
    try {
      expect((await send(`${separate.url}/metrics`)).status).toBe(404);
      const listening = separate.logs().find((l) => l.msg === "mediagate is listening");
      const own = await send(`${String(listening?.metricsUrl)}/metrics`);
      expect(own.status).toBe(200);
      expect(own.text).toContain("mediagate_uploads_in_flight");
    } finally {
      await separate.stop();
    }
    const off = await startGatewayProcess({
      FS_ROOT: join(dir, "o"),
      AUTH_TOKENS: TOKEN,
      METRICS: "off",
    });
    try {
      expect((await send(`${off.url}/metrics`)).status).toBe(404);
    } finally {
      await off.stop();
    }
  });
});

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

describe("OpenTelemetry traces", () => {
  let receiver: Server;
  const spans: ReceivedSpan[] = [];
  let gateway: GatewayProcess;

  beforeAll(async () => {
    // An OTLP/HTTP receiver: the JSON encoding of ExportTraceServiceRequest.
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (req.url === "/v1/traces" && /json/.test(req.headers["content-type"] ?? "")) {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as {
            resourceSpans: { scopeSpans: { spans: ReceivedSpan[] }[] }[];
          };
          for (const rs of body.resourceSpans)
            for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const { port } = receiver.address() as AddressInfo;
    gateway = await startGatewayProcess({
      FS_ROOT: join(dir, "t"),
      AUTH_TOKENS: TOKEN,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_BSP_SCHEDULE_DELAY: "100",
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    receiver?.close();
  });

  it("sends a span per request with children for authentication and storage, ids on the log line", async () => {
    const answer = await postForm(`${gateway.url}/upload`, form(), {
      "x-request-id": "traced-upload",
    });
    expect(answer.status).toBe(200);
    await expect
      .poll(() => spans.find((s) => s.name === "POST /upload"), { timeout: 15_000 })
      .toBeDefined();
    const root = spans.find((s) => s.name === "POST /upload") as ReceivedSpan;
    await expect
      .poll(() =>
        spans
          .filter((s) => s.traceId === root.traceId)
          .map((s) => s.name)
          .sort(),
      )
      .toEqual(expect.arrayContaining(["authenticate", "storage.write"]));
    for (const child of spans.filter((s) => s.traceId === root.traceId && s !== root)) {
      expect(child.parentSpanId).toBe(root.spanId);
    }
    const line = gateway
      .logs()
      .find((l) => (l.req as { id?: string } | undefined)?.id === "traced-upload");
    expect(line).toMatchObject({ trace_id: root.traceId, span_id: root.spanId });
  });
});

describe("the Grafana dashboard", () => {
  it("uses only metrics the gateway exports", async () => {
    const dashboard = await readFile(
      new URL("../../../deploy/grafana/mediagate-dashboard.json", import.meta.url),
      "utf8",
    );
    const used = new Set(dashboard.match(/mediagate_[a-z0-9_]+/g) ?? []);
    expect(used.size).toBeGreaterThan(8);
    const metrics = new Metrics("fs", () => 0);
    const exported = new Set<string>();
    for (const metric of await metrics.registry.getMetricsAsJSON()) {
      exported.add(metric.name);
      for (const suffix of ["_bucket", "_count", "_sum"]) exported.add(`${metric.name}${suffix}`);
    }
    for (const name of used) expect(exported, name).toContain(name);
  });
});
