import type { NextFunction, Request, Response } from "express";
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";

export interface TracingConfig {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's OTLP/HTTP base URL. */
  endpoint: string;
  /** OTEL_SERVICE_NAME. */
  serviceName: string;
}

export interface Tracing {
  tracer: Tracer;
  /** A server span per request, with the request id; its ids ride on the request's log line. */
  middleware(): (req: Request, res: Response, next: NextFunction) => void;
  /** Sends what is buffered; call at shutdown. */
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry traces, only when OTEL_EXPORTER_OTLP_ENDPOINT is set (the SDK is loaded
 * only then): a span per request, children for authentication and each storage operation,
 * exported over OTLP/HTTP in batches. W3C trace context from the client is continued.
 */
export async function startTracing(config: TracingConfig, version: string): Promise<Tracing> {
  const [
    { NodeTracerProvider, BatchSpanProcessor },
    { OTLPTraceExporter },
    { resourceFromAttributes },
  ] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
  ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      "service.name": config.serviceName,
      "service.version": version,
    }),
    spanProcessors: [
      new BatchSpanProcessor(
        new OTLPTraceExporter({ url: `${config.endpoint.replace(/\/+$/, "")}/v1/traces` }),
      ),
    ],
  });
  provider.register();
  const tracer = trace.getTracer("mediagate", version);
  return {
    tracer,
    middleware: () => (req, res, next) => {
      const parent = propagation.extract(context.active(), req.headers);
      const route = routeName(req);
      const span = tracer.startSpan(
        `${req.method} ${route}`,
        {
          kind: SpanKind.SERVER,
          attributes: { "http.request.method": req.method, "http.route": route },
        },
        parent,
      );
      const { traceId, spanId } = span.spanContext();
      res.locals.trace = { trace_id: traceId, span_id: spanId };
      res.once("close", () => {
        const status = res.writableFinished ? res.statusCode : 499;
        span.setAttribute("http.response.status_code", status);
        const id = res.getHeader("x-request-id");
        if (typeof id === "string") span.setAttribute("mediagate.request_id", id);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      });
      context.with(trace.setSpan(parent, span), next);
    },
    shutdown: () => provider.shutdown(),
  };
}

/** A bounded route name for span names: never a key or a uid. */
function routeName(req: Request): string {
  const path = req.path;
  if (path === "/" || path === "/upload") return path;
  if (path.startsWith("/files/")) return "/files/:key";
  if (path.startsWith("/admin/")) return "/admin/*";
  return ["/healthz", "/readyz", "/metrics", "/status.json"].includes(path) ? path : "other";
}
