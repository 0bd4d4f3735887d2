import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { BodyInspector, classify, s3ErrorBody } from "./recording-parse.ts";
import type {
  S3FaultRule,
  S3ProxyFault,
  S3RecordedRequest,
  S3RecordingProxy,
  S3RecordingProxyOptions,
} from "./recording-types.ts";
import { verifySigV4 } from "./sigv4.ts";

export type {
  S3FaultRule,
  S3InjectedFault,
  S3Operation,
  S3ProxyFault,
  S3RecordedRequest,
  S3RecordingProxy,
  S3RecordingProxyOptions,
} from "./recording-types.ts";

/**
 * An HTTP proxy in front of an S3 server that records every request as an S3 operation,
 * checks SigV4 signatures and payload hashes the way S3 does, and can inject faults. It is
 * how tests see what an adapter actually sent (AbortMultipartUpload after a failure, no part
 * after the abort, at most `queueSize` parts at a time) instead of trusting its own account.
 */

export async function startS3RecordingProxy(
  options: S3RecordingProxyOptions,
): Promise<S3RecordingProxy> {
  const target = new URL(options.target);
  const agent = new http.Agent({ keepAlive: true });
  const requests: S3RecordedRequest[] = [];
  const open = new Set<Promise<void>>();
  const rules: { rule: S3FaultRule; hits: number; removed: boolean }[] = [];
  let lastId = 0;
  let clock = 0;
  const tick = () => ++clock;

  const pickFault = (record: S3RecordedRequest): S3ProxyFault | undefined => {
    for (const entry of rules) {
      if (entry.removed || entry.hits >= (entry.rule.times ?? Infinity)) continue;
      if (!entry.rule.match(record)) continue;
      entry.hits++;
      return entry.rule.fault;
    }
    return undefined;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    const url = req.url ?? "/";
    const parsed = new URL(url, "http://proxy.invalid");
    const [, rawBucket, ...rawKey] = parsed.pathname.split("/");
    const bucket = rawBucket ? decodeURIComponent(rawBucket) : undefined;
    const key =
      rawKey.length > 0 && rawKey.join("/") !== ""
        ? decodeURIComponent(rawKey.join("/"))
        : undefined;
    const part = parsed.searchParams.get("partNumber");
    const record: S3RecordedRequest = {
      id: ++lastId,
      operation: classify(
        req.method ?? "GET",
        bucket,
        key,
        parsed.searchParams,
        req.headers["x-amz-copy-source"] !== undefined,
      ),
      method: req.method ?? "GET",
      url,
      bucket,
      key,
      uploadId: parsed.searchParams.get("uploadId") ?? undefined,
      partNumber: part === null ? undefined : Number(part),
      headers: { ...req.headers },
      startedAt: tick(),
      endedAt: undefined,
      status: undefined,
      upstreamStatus: undefined,
      bytesIn: 0,
      bodyComplete: false,
      outcome: undefined,
      problem: undefined,
    };
    requests.push(record);

    const ended = new Promise<void>((resolve) => {
      res.once("close", () => {
        record.endedAt = tick();
        record.status = res.headersSent ? res.statusCode : undefined;
        record.outcome ??= res.writableFinished ? "answered" : "client-aborted";
        resolve();
      });
    });
    open.add(ended);
    void ended.then(() => open.delete(ended));

    const refuse = (
      status: number,
      code: string,
      message: string,
      outcome: "fault" | "rejected",
    ) => {
      record.outcome = outcome;
      record.problem = outcome === "rejected" ? `${code}: ${message}` : undefined;
      const answer = () => {
        res.writeHead(status, { "content-type": "application/xml" });
        res.end(s3ErrorBody(code, message));
      };
      // A client waiting for 100-continue sends no body; any other gets its body read first,
      // so it sees the answer rather than a connection reset in the middle of its upload.
      if (expectsContinue || req.readableEnded) answer();
      else req.resume().once("end", answer);
    };

    const fault = pickFault(record);
    if (fault?.type === "error") {
      refuse(fault.status, fault.code, fault.message ?? "Injected by the test proxy.", "fault");
      return;
    }
    // The rest of the exchange: checked, then forwarded (at once, or once a hold ends).
    const forward = () => {
      if (options.secretFor) {
        const problem = verifySigV4(
          { method: record.method, url, rawHeaders: req.rawHeaders },
          options.secretFor,
        );
        if (problem) {
          refuse(problem.status, problem.code, problem.message, "rejected");
          return;
        }
      }
      if (expectsContinue) res.writeContinue();

      const contentHash = req.headers["x-amz-content-sha256"];
      const inspector = new BodyInspector(
        typeof contentHash === "string" && /^[0-9a-f]{64}$/.test(contentHash)
          ? contentHash
          : undefined,
        (total) => {
          record.bytesIn = total;
          if (fault?.type !== "reset" || total < (fault.afterBytes ?? 0)) return false;
          record.outcome = "fault";
          upstream.destroy();
          req.socket.destroy();
          return true;
        },
        fault?.type === "slow-commit" ? fault.delayMs : 0,
      );
      req.once("end", () => (record.bodyComplete = true));
      if (fault?.type === "reset" && (fault.afterBytes ?? 0) === 0) {
        record.outcome = "fault";
        req.socket.destroy();
        return;
      }
      if (fault?.type === "hang") {
        req.on("data", (chunk: Buffer) => (record.bytesIn += chunk.length));
        return;
      }

      const headers = { ...req.headers };
      // The proxy already answered 100-continue itself; the upstream gets the body directly.
      delete headers.expect;
      const upstream = http.request({
        host: target.hostname,
        port: target.port,
        method: record.method,
        path: url,
        headers,
        agent,
      });
      // Until the server behind has finished with it (idle() waits for that too).
      const upstreamDone = new Promise<void>((resolve) => upstream.once("close", resolve));
      open.add(upstreamDone);
      void upstreamDone.then(() => open.delete(upstreamDone));
      let answered: http.IncomingMessage | undefined;
      upstream.on("response", (answer) => {
        answered = answer;
        record.upstreamStatus = answer.statusCode;
        if (fault?.type === "lose-answer" || res.destroyed) {
          answer.resume();
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on("error", () => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(502, { "content-type": "application/xml" });
          res.end(s3ErrorBody("InternalError", "The test proxy lost its upstream."));
        } else {
          res.destroy();
        }
      });
      res.on("close", () => {
        // A request the server has received whole is carried out even if its client left.
        const committed = fault?.type === "slow-commit" && record.bodyComplete;
        if (res.writableFinished) return;
        if (!committed) upstream.destroy();
        else answered?.unpipe(res).resume();
      });
      inspector.on("error", (err: Error & { code?: string }) => {
        upstream.destroy();
        if (err.code === "XAmzContentSHA256Mismatch" && !res.headersSent) {
          refuse(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            "rejected",
          );
        }
      });
      req.on("error", () => upstream.destroy());
      req.pipe(inspector).pipe(upstream);
    };
    if (fault?.type === "hold") void fault.until.then(forward, forward);
    else forward();
  };

  const server = http.createServer((req, res) => handle(req, res, false));
  server.on("checkContinue", (req, res) => handle(req, res, true));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    requestsFor: (operation, key) =>
      requests.filter((r) => r.operation === operation && (key === undefined || r.key === key)),
    async idle() {
      while (open.size > 0) await Promise.allSettled([...open]);
    },
    injectFault(rule) {
      const entry = { rule, hits: 0, removed: false };
      rules.push(entry);
      return {
        get hits() {
          return entry.hits;
        },
        remove() {
          entry.removed = true;
        },
      };
    },
    clear() {
      requests.length = 0;
      rules.length = 0;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
