/**
 * The dashboard's one HTML page. It carries no data of its own: the script
 * (client.ts, compiled) asks the server for the view named in the page and
 * draws it, then keeps it current from server-sent events. Every script and
 * style comes from this server (vega and onnxruntime-web from node_modules),
 * so the dashboard works without a network.
 */

export type ViewKind = 'overview' | 'experiment' | 'run';

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const STYLE = `
body { font-family: "DejaVu Sans", sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #1f3b57; color: white; padding: 0.6em 1.5em; display: flex; align-items: baseline; gap: 1.5em; }
header a { color: white; text-decoration: none; font-weight: bold; }
header .where { color: #cfe0f0; font-size: 0.9em; }
header .live { margin-left: auto; font-size: 0.85em; color: #9fd39f; }
header .live.off { color: #f0b0b0; }
main { padding: 1em 1.5em; max-width: 1400px; }
h1 { font-size: 1.4em; margin: 0.3em 0; } h2 { font-size: 1.15em; margin: 1.2em 0 0.4em; }
table { border-collapse: collapse; font-size: 0.88em; background: white; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.55em; text-align: right; white-space: nowrap; }
th { background: #eef2f6; } td.text, th.text { text-align: left; }
td.state-running { color: #1a6b1a; font-weight: bold; } td.state-diverged, td.state-stopped, td.state-failed { color: #a33; }
.links a { margin-right: 1em; }
.muted { color: #666; font-size: 0.9em; }
.charts { display: flex; flex-wrap: wrap; gap: 1.2em; }
figure.chart { margin: 0; background: white; border: 1px solid #e3e3e3; padding: 0.5em; }
figure.chart figcaption { max-width: 560px; font-size: 0.82em; color: #444; margin-top: 0.3em; }
.errors { color: #a33; font-size: 0.85em; }
#try { background: white; border: 2px dashed #89a; border-radius: 8px; padding: 1em; max-width: 640px; }
#try.over { border-color: #1f3b57; background: #eef4fa; }
#try canvas { image-rendering: pixelated; width: 112px; height: 112px; border: 1px solid #ccc; vertical-align: top; margin-right: 1em; }
#try ol { display: inline-block; margin: 0; vertical-align: top; }
`;

/** The page for a view; `path` is the experiment's or run's id for those views. */
export function dashboardPage(view: ViewKind, path: string, title: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${escapeAttribute(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style>
<script src="/vendor/vega.min.js"></script>
<script type="module" src="/assets/dashboard.js"></script>
</head>
<body data-view="${escapeAttribute(view)}" data-path="${escapeAttribute(path)}">
<header><a href="/">skipstudio</a><span class="where" id="where"></span><span class="live off" id="live">connecting</span></header>
<main id="main"><p class="muted">Loading...</p></main>
</body></html>
`;
}
