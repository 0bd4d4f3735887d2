/**
 * The status page's script, run in the browser (served as /status/page.js): reads
 * /status.json every few seconds and fills in the page; asks for an admin token when the
 * gateway wants one. Types only are shared with the gateway (erased when served).
 */
import type { StatusBody } from "../report.ts";
import { byId, document, sessionStorage, type InputElement, type PageElement } from "./dom.ts";
import { startTester } from "./tester.ts";

const TOKEN_KEY = "mediagate.adminToken";
const REFRESH_MS = 10_000;
const SVG = "http://www.w3.org/2000/svg";

const text = (id: string, value: string) => (byId(id).textContent = value);

function setState(state: "ready" | "not-ready" | "error" | "signin", summary: string) {
  document.body.dataset.state = state;
  text("summary", summary);
}

let timer: ReturnType<typeof setTimeout> | undefined;

/** Reads /status.json now, then again after REFRESH_MS. */
async function refresh(): Promise<void> {
  clearTimeout(timer);
  try {
    await load();
  } finally {
    timer = setTimeout(() => void refresh(), REFRESH_MS);
  }
}

async function load(): Promise<void> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  let response: Response;
  try {
    response = await fetch("/status.json", {
      cache: "no-store",
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
  } catch {
    return setState("error", "The gateway did not answer.");
  }
  if (response.status === 401) {
    if (token) sessionStorage.removeItem(TOKEN_KEY);
    return askForToken(token ? "That admin token was refused." : "");
  }
  if (!response.ok) return setState("error", `/status.json answered HTTP ${response.status}.`);
  render((await response.json()) as StatusBody, token !== null);
}

function askForToken(error: string): void {
  byId("overview").hidden = true;
  byId("signin").hidden = false;
  text("signin-error", error);
  setState("signin", "An admin token is needed to see this gateway's status.");
}

function render(status: StatusBody, signedIn: boolean): void {
  byId("signin").hidden = true;
  byId("overview").hidden = false;
  byId("signout").hidden = !signedIn;
  const { gateway, readiness, uploads, storage } = status;
  const failing = readiness.checks.filter((check) => !check.ok).map((check) => check.name);
  const verdict = readiness.draining
    ? "Shutting down (draining)"
    : readiness.ready
      ? "Ready"
      : `Not ready: ${failing.join(", ")} failing`;
  setState(readiness.ready ? "ready" : "not-ready", verdict);
  text("backend", gateway.backend);
  text("version", `${gateway.version} (Node ${gateway.node})`);
  text("readiness", verdict);
  text("started", new Date(gateway.startedAt).toLocaleString());
  text("in-flight", String(status.inFlight));
  byId("checks").replaceChildren(
    ...readiness.checks.map((check) => {
      const item = document.createElement("li");
      item.className = check.ok ? "ok" : "bad";
      item.textContent = check.ok
        ? `✓ ${check.name}: ok (${check.ms} ms)`
        : `✗ ${check.name}: ${check.code ?? "failed"}${check.detail ? ` (${check.detail})` : ""}`;
      return item;
    }),
  );
  text("uploads-ok", String(uploads.totals.ok));
  text("uploads-client-errors", String(uploads.totals.clientError));
  text("uploads-server-errors", String(uploads.totals.serverError));
  text("uploads-aborted", String(uploads.totals.aborted));
  drawChart(uploads.perMinute.ok, uploads.perMinute.errors);
  const [files, bytes, measured] =
    storage === null
      ? ["not counted (LEDGER=off)", "not counted (LEDGER=off)", ""]
      : "error" in storage
        ? ["the ledger is not answering", "the ledger is not answering", ""]
        : [
            storage.records.toLocaleString(),
            `${formatBytes(storage.bytes)} (${storage.bytes.toLocaleString()} B)`,
            // The ledger is asked at most every 30 s: the totals may trail the uploads above.
            new Date(storage.measuredAt).toLocaleTimeString(),
          ];
  text("storage-files", files);
  text("storage-bytes", bytes);
  text("storage-measured", measured);
}

/** One bar pair per minute, oldest first: stored above the axis, failed or refused below. */
function drawChart(ok: number[], errors: number[]): void {
  const chart = byId("chart");
  const peak = Math.max(1, ...ok, ...errors);
  const width = 240 / ok.length;
  const bars: PageElement[] = [];
  const bar = (index: number, count: number, up: boolean) => {
    if (count === 0) return;
    const height = Math.max(1, (count / peak) * 29);
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("x", String(index * width + 0.5));
    rect.setAttribute("width", String(Math.max(1, width - 1)));
    rect.setAttribute("y", String(up ? 30 - height : 30));
    rect.setAttribute("height", String(height));
    rect.setAttribute("class", up ? "ok" : "bad");
    bars.push(rect);
  };
  const axis = document.createElementNS(SVG, "rect");
  const line: [string, string][] = [
    ["x", "0"],
    ["y", "29.75"],
    ["width", "240"],
    ["height", "0.5"],
  ];
  for (const [name, value] of line) axis.setAttribute(name, value);
  axis.setAttribute("class", "axis");
  bars.push(axis);
  ok.forEach((count, index) => {
    bar(index, count, true);
    bar(index, errors[index] ?? 0, false);
  });
  chart.replaceChildren(...bars);
}

function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

byId("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = byId<InputElement>("admin-token");
  sessionStorage.setItem(TOKEN_KEY, input.value.trim());
  input.value = "";
  void refresh();
});
byId("signout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  void refresh();
});
startTester(() => void refresh());
void refresh();
