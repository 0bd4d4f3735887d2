/**
 * The status page's HTML and CSS, as strings so they ship inside dist/ with the compiled
 * code. Static on purpose: every figure comes from /status.json, which is what an admin
 * token guards in production; the shell itself tells nothing.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>mediagate status</title>
<link rel="stylesheet" href="/status/status.css">
<script type="module" src="/status/page.js"></script>
</head>
<body data-state="loading">
<header>
<h1>mediagate status</h1>
<p id="summary" role="status">Loading…</p>
</header>
<main>
<section id="signin" aria-labelledby="signin-title" hidden>
<h2 id="signin-title">Admin token</h2>
<p>In production the figures are for admins: paste one of the gateway's ADMIN_TOKENS. It is kept in this tab only.</p>
<form id="signin-form">
<label for="admin-token">Admin token</label>
<input id="admin-token" name="admin-token" type="password" autocomplete="off" required>
<button type="submit">Show status</button>
</form>
<p id="signin-error" class="error" role="alert"></p>
</section>
<section id="overview" aria-labelledby="overview-title" hidden>
<h2 id="overview-title">Gateway</h2>
<dl>
<dt>Backend</dt><dd id="backend"></dd>
<dt>Version</dt><dd id="version"></dd>
<dt>Readiness</dt><dd id="readiness"></dd>
<dt>Running since</dt><dd id="started"></dd>
<dt>Other requests in flight</dt><dd id="in-flight"></dd>
</dl>
<h3>Readiness checks</h3>
<ul id="checks"></ul>
<h2>Uploads, last hour</h2>
<dl>
<dt>Stored</dt><dd id="uploads-ok"></dd>
<dt>Refused (4xx)</dt><dd id="uploads-client-errors"></dd>
<dt>Failed (5xx)</dt><dd id="uploads-server-errors"></dd>
<dt>Client left</dt><dd id="uploads-aborted"></dd>
</dl>
<figure>
<svg id="chart" viewBox="0 0 240 60" preserveAspectRatio="none" role="img" aria-labelledby="chart-caption"></svg>
<figcaption id="chart-caption">Uploads per minute over the last hour: stored, and failed or refused.</figcaption>
</figure>
<h2>Storage used</h2>
<dl>
<dt>Files</dt><dd id="storage-files"></dd>
<dt>Bytes</dt><dd id="storage-bytes"></dd>
<dt>Counted at</dt><dd id="storage-measured"></dd>
</dl>
<p><button id="signout" type="button" hidden>Forget the admin token</button></p>
</section>
<section id="tester" aria-labelledby="tester-title">
<h2 id="tester-title">Upload tester</h2>
<p>Sends a file the way mesibo does, through <code>@mediagate/client</code>, with an upload token.</p>
<form id="upload-form">
<label for="upload-token">Upload token</label>
<input id="upload-token" name="upload-token" type="password" autocomplete="off" required>
<label for="upload-uid">Sender uid (optional)</label>
<input id="upload-uid" name="upload-uid" inputmode="numeric" pattern="[0-9]{1,20}" autocomplete="off">
<label for="upload-file">File</label>
<input id="upload-file" name="upload-file" type="file" required>
<button id="upload-button" type="submit">Upload</button>
</form>
<progress id="upload-progress" max="1" value="0" aria-label="Upload progress"></progress>
<p id="upload-result" role="status"></p>
</section>
</main>
<footer>
<p>Refreshed every 10 seconds. Probes: <a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>.</p>
</footer>
</body>
</html>
`;

export const PAGE_CSS = `:root {
  color-scheme: light dark;
  --ok: #1a7f37;
  --bad: #c62828;
  --muted: #667;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  line-height: 1.45;
}
body { max-width: 46rem; margin: 0 auto; padding: 1rem 1.25rem 2rem; }
h1 { font-size: 1.5rem; margin: 0.5rem 0; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; border-bottom: 1px solid #8884; }
h3 { font-size: 1rem; margin: 1rem 0 0.25rem; }
#summary { font-weight: 600; padding: 0.5rem 0.75rem; border-left: 0.3rem solid var(--muted); }
body[data-state="ready"] #summary { border-color: var(--ok); color: var(--ok); }
body[data-state="not-ready"] #summary, body[data-state="error"] #summary { border-color: var(--bad); color: var(--bad); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; font-variant-numeric: tabular-nums; }
ul#checks { list-style: none; padding: 0; margin: 0; }
.ok { color: var(--ok); }
.bad, .error { color: var(--bad); }
figure { margin: 1rem 0; }
svg#chart { width: 100%; height: 6rem; background: #8881; }
svg#chart .ok { fill: var(--ok); }
svg#chart .bad { fill: var(--bad); }
svg#chart .axis { fill: var(--muted); }
figcaption { font-size: 0.85rem; color: var(--muted); }
form { display: grid; grid-template-columns: max-content 1fr; gap: 0.5rem 1rem; align-items: center; }
form button { grid-column: 2; justify-self: start; }
input, button { font: inherit; }
button { padding: 0.3rem 0.9rem; }
progress { width: 100%; margin-top: 0.75rem; }
#upload-result { overflow-wrap: anywhere; }
footer { margin-top: 2rem; font-size: 0.85rem; color: var(--muted); }
:focus-visible { outline: 2px solid Highlight; outline-offset: 2px; }
`;
