/**
 * `npm run bench`: every performance figure of issue 13 as a ratio against its baseline, measured in
 * the same command, then a table (the README's performance section copies it):
 *  - cold start: stdio start to a `tools/list` answer vs `@modelcontextprotocol/server-everything`;
 *  - reuse: a new process resolving an unchanged 100 MB input vs the first (hashing) resolution;
 *  - repeat: an identical create_lip_sync over MCP (answered from the ledger) vs get_task_status;
 *  - claims: 1,000 distinct claims at once, PostgreSQL from 3 instances vs SQLite from one;
 *  - upload: our Jogg upload vs `curl -T` of the same file to the same loopback PUT, and peak RSS;
 *  - polls: 1,000 active tasks, recovery + an agent polling all: requests per task per interval, RSS;
 *  - local engine: a 5-minute 720p input vs a plain ffmpeg remux of the same files; alignment time;
 *  - HTTP sessions: memory while 10,000 clients initialize and never DELETE (must stay flat);
 *  - HTTP abandoned clients: 10,000 silent, slow-loris, dropped-stream and idle keep-alive clients
 *    (memory flat, a newcomer answered in every wave: 200 or 503 with Retry-After, never silence);
 *  - listings at 100,000 tasks (page time, worst event-loop stall), and the CPU one outside change
 *    costs with 1,000 subscriptions, per ledger backend (bench-lists.ts);
 *  - media reads: 100 concurrent reads of 60 MiB media (a batch, 100 sessions, 100 unread answers),
 *    the server's peak RSS against 300 MB.
 * `--quick`: 256 MiB upload, 60-second local input. `--sessions` runs only the sessions measurement, `--abandoned` only the abandoned clients,
 * `--cold-start` only the cold start, `--lists` only the listings, `--media` only the media reads
 * (`npm run bench -- --media`).
 */
import { type AbandonedBench, benchAbandoned } from './bench-abandoned.js';
import { BACKENDS, benchClaims } from './bench-claims.js';
import { benchLists, type ListsFigures } from './bench-lists.js';
import { benchLocal } from './bench-local.js';
import { benchMedia, type MediaBench } from './bench-media.js';
import { benchPolls } from './bench-polls.js';
import { benchRepeat } from './bench-repeat.js';
import { benchReuse } from './bench-reuse.js';
import { benchSessions } from './bench-sessions.js';
import { benchStart } from './bench-start.js';
import { benchUpload } from './bench-upload.js';

const quick = process.argv.includes('--quick');
if (process.argv.includes('--sessions')) {
  console.log(JSON.stringify({ sessions: await benchSessions() }, null, 2));
  process.exit(0);
}
const abandonedRow = (a: AbandonedBench): [string, string, string, string] => [
  `HTTP: ${a.abandoned.toLocaleString('en')} abandoned clients (silent, slow loris, dropped stream, idle keep-alive)`,
  `RSS +${a.rss_growth_mb} MB, heap +${a.heap_growth_mb} MB; newcomers: ${a.newcomers.ok} answered, ${a.newcomers.full_503} 503 + Retry-After, ${a.newcomers.silent} silent`,
  '—',
  'flat; 0 silent',
];
if (process.argv.includes('--abandoned')) {
  const abandoned = await benchAbandoned();
  console.log(JSON.stringify({ abandoned }, null, 2));
  console.log(
    `\n| figure | measured | ratio | goal |\n|---|---|---|---|\n| ${abandonedRow(abandoned).join(' | ')} |`,
  );
  process.exit(0);
}
if (process.argv.includes('--cold-start')) {
  console.log(JSON.stringify({ cold_start: await benchStart(quick ? 5 : 9) }, null, 2));
  process.exit(0);
}
const mediaRow = (m: MediaBench): [string, string, string, string] => [
  `${m.reads} concurrent reads of ${m.file_mib} MiB media over HTTP: server peak RSS`,
  `${m.peak_rss_mb} MB (idle ${m.idle_rss_mb}); batch of ${m.reads}: ${m.batch.answered} ranges, ${m.batch.described} descriptions, ${m.batch.refused} refused (cap); ${m.reads} sessions: ${m.sessions.answered} answered, ${m.sessions.refused} refused; ${m.reads} unread answers held ${m.unread.held_s} s`,
  `${(m.peak_rss_mb / m.goal_mb).toFixed(2)}× the goal`,
  `< ${m.goal_mb} MB`,
];
if (process.argv.includes('--media')) {
  const media = await benchMedia();
  console.log(JSON.stringify({ media }, null, 2));
  console.log(
    `\n| figure | measured | ratio | goal |\n|---|---|---|---|\n| ${mediaRow(media).join(' | ')} |`,
  );
  process.exit(0);
}
const rows: [string, string, string, string][] = [];
const row = (figure: string, now: string, ratio: string, goal: string) =>
  rows.push([figure, now, ratio, goal]);

/** Listing and subscription rows, per backend. */
function listRows(lists: Record<string, ListsFigures | { skipped: string }>): void {
  for (const [name, f] of Object.entries(lists)) {
    if ('skipped' in f) continue;
    const l = f.listings;
    const worst = Math.max(
      l.resources_list_deep_page_ms.p50,
      l.list_tasks_deep_page_ms.p50,
      l.list_tasks_filtered_deep_ms.p50,
    );
    row(
      `${name}: a page of \`resources/list\` / \`list_tasks\` at ${l.tasks.toLocaleString('en')} tasks (deep, random cursors; median, p99)`,
      `resources/list ${l.resources_list_deep_page_ms.p50} ms (p99 ${l.resources_list_deep_page_ms.p99}); list_tasks ${l.list_tasks_deep_page_ms.p50} ms (p99 ${l.list_tasks_deep_page_ms.p99}); filtered ${l.list_tasks_filtered_deep_ms.p50} ms; first page ${l.resources_list_first_page_ms.p50} ms`,
      `${(worst / 5).toFixed(2)}× the goal`,
      '< 5 ms',
    );
    row(
      `${name}: worst event-loop stall while 100 deep listings run at once`,
      `${l.event_loop_max_stall_ms} ms (batch done in ${l.batch_100_deep_listings_ms} ms)`,
      `${(l.event_loop_max_stall_ms / 50).toFixed(2)}× the goal`,
      '≤ 50 ms',
    );
    const s = f.subscriptions;
    row(
      `${name}: one change by another process, ${s.subscriptions.toLocaleString('en')} subscriptions in ${s.sessions} sessions`,
      `CPU ${s.outside_change_cpu_ms.p50} ms (max ${s.outside_change_cpu_ms.max}); told in ${s.outside_change_latency_ms.p50} ms; ${f.made_up.refused.toLocaleString('en')} of ${f.made_up.attempts.toLocaleString('en')} made-up subscribes refused`,
      '—',
      'one read',
    );
  }
}

if (process.argv.includes('--lists')) {
  const abandoned = await benchAbandoned();
  console.log(JSON.stringify({ abandoned }, null, 2));
  rows.push(abandonedRow(abandoned));

  const lists = await benchLists();
  console.log(JSON.stringify({ lists }, null, 2));
  listRows(lists);
  console.log('\n| figure | measured | ratio | goal |\n|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  process.exit(0);
}

const start = await benchStart(quick ? 5 : 9);
console.log(JSON.stringify({ cold_start: start }, null, 2));
row(
  'stdio cold start to `tools/list` of the `lipsync-mcp` command, vs server-everything',
  `${start.ours_ms} ms vs ${start.everything_ms} ms; CPU ${start.ours_cpu_ms} vs ${start.everything_cpu_ms} ms (${start.cpu_ratio_vs_everything}×); RSS ${start.ours_rss_mb} vs ${start.everything_rss_mb} MB; unbundled modules: CPU ${start.unbundled_cpu_ratio_vs_everything}×`,
  `${start.ratio_vs_everything}×`,
  '≤ 1.0×',
);

const reuse = await benchReuse(100);
console.log(JSON.stringify({ reuse }, null, 2));
row(
  'new process, unchanged 100 MB input: resolve vs first (hashing) resolve',
  `${reuse.second_ms} ms vs ${reuse.first_ms} ms; file read again: ${reuse.second_reads_file ? 'yes' : 'no'}`,
  `${reuse.ratio_vs_first}×`,
  'not read',
);

const repeat = await benchRepeat(quick ? 50 : 200);
console.log(JSON.stringify({ repeat }, null, 2));
row(
  'identical `create_lip_sync` over MCP (reused from the ledger), vs `get_task_status` on the same connection',
  `median ${repeat.repeat_median_ms} ms (p95 ${repeat.repeat_p95_ms}) vs ${repeat.status_median_ms} ms; first create ${repeat.first_ms} ms`,
  `${repeat.ratio_vs_status}×`,
  '< 5 ms',
);

const claims: Record<string, Awaited<ReturnType<typeof benchClaims>>> = {};
for (const b of BACKENDS) {
  if (b.skip) {
    console.log(JSON.stringify({ claims: { backend: b.name, skipped: b.skip } }));
    continue;
  }
  await benchClaims(b, { claims: 50, instances: 1 }); // warm-up
  claims[b.name] = await benchClaims(b, { claims: 1000, instances: b.name === 'postgres' ? 3 : 1 });
  console.log(JSON.stringify({ claims: claims[b.name] }, null, 2));
}
if (claims.postgres && claims.sqlite) {
  const pg = claims.postgres;
  const lite = claims.sqlite;
  row(
    '1,000 distinct claims at once: PostgreSQL (3 instances) vs SQLite (1 instance)',
    `${pg.claims_per_s}/s, p99 ${pg.p99_ms} ms vs ${lite.claims_per_s}/s, p99 ${lite.p99_ms} ms; pool in use ${pg.peak_in_use?.join('/')} (most waiting ${pg.peak_waiting})`,
    `${(pg.claims_per_s / lite.claims_per_s).toFixed(2)}× throughput`,
    '—',
  );
}

const uploadMb = quick ? 256 : 1024;
const upload = await benchUpload(uploadMb);
console.log(JSON.stringify({ upload }, null, 2));
row(
  `${uploadMb} MiB Jogg upload, vs \`curl -T\` (throughput)`,
  `${upload.ours_ms} ms vs ${upload.curl_ms} ms; peak RSS ${upload.peak_rss_mb} MB`,
  `${upload.throughput_vs_curl}×`,
  '≥ 0.9×, < 120 MB',
);

const polls = await benchPolls(1000);
console.log(JSON.stringify({ polls }, null, 2));
row(
  '1,000 active tasks: provider requests per task per poll interval',
  `${polls.requests_per_task_max} (in ${polls.elapsed_ms} ms); peak RSS ${polls.peak_rss_mb} MB (idle ${polls.idle_rss_mb})`,
  `${polls.requests_per_task_max}× one per interval`,
  '≤ 1, < 150 MB',
);

const local = await benchLocal(quick ? 60 : 300);
console.log(JSON.stringify({ local }, null, 2));
row(
  `local engine, ${quick ? 60 : 300} s 720p, vs ffmpeg remux`,
  `${local.engine_ms} ms vs ${local.remux_ms} ms; alignment ${local.align_ms} ms`,
  `${local.ratio}×`,
  '—',
);

const sessions = await benchSessions();
console.log(JSON.stringify({ sessions }, null, 2));
row(
  'HTTP: 10,000 abandoned sessions, memory growth',
  `RSS +${sessions.rss_growth_mb} MB, heap +${sessions.heap_growth_mb} MB`,
  '—',
  'flat',
);

const lists = await benchLists();
console.log(JSON.stringify({ lists }, null, 2));
listRows(lists);
const media = await benchMedia();
console.log(JSON.stringify({ media }, null, 2));
rows.push(mediaRow(media));

console.log('\n| figure | measured | ratio | goal |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
process.exit(0);
