#!/usr/bin/env node
'use strict';
/**
 * An on-sale at Stripe's rate limit (issue 22). `npm run bench:on-sale` (or
 * `node bench/on-sale.js` after a build).
 *
 * FerretDB (on PostgreSQL, or SQLite with --backend sqlite), nats-streaming-server, the fake Stripe
 * (scripts/fake-stripe.js, in this process) with Stripe's limiter set to the
 * budget (`rateLimits = { perEndpoint: B, global: 4·B }`, Stripe's live-mode ratio
 * 25 : 100), and `--instances` service processes (`node dist/index.js`,
 * STRIPE_MAX_RPS=B) sharing one database, one NATS cluster and queue group.
 *
 * Orders are published as the orders service does (order:created), each of a user
 * of its own with its own session cookie. Then buyers arrive at 5·B a second for
 * `--seconds`, spread over the instances; each POSTs /api/payments (a card token,
 * two Stripe calls, or a share `--pm-share` with paymentMethodId pm_card_visa, one
 * call). A buyer refused (503/429/409, or a network error) comes back after its
 * Retry-After (1 s when there is none), at most `--max-attempts` times, until paid or
 * the load stops. Buyers reach each instance through a pool of keep-alive connections
 * (`--connections`), opened before the sale and taken in turn, as a load balancer's.
 * After a drain the figures are printed and written to
 * bench/results/on-sale-<label>.json (docs/benchmarks.md, "On-sale at Stripe's rate limit").
 *
 * Old code: copy this file into another checkout's bench/ and run it there; the
 * service is that checkout's dist/index.js, the fake Stripe is the one given by
 * `--fake-stripe <path>` (or ONSALE_FAKE_STRIPE), so both runs face the same limiter.
 */
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { monitorEventLoopDelay } = require('node:perf_hooks');

const { ROOT, SERVICE_ENTRY, startService, onCleanup, cleanupAll, round, sleep } = require('./lib/procs');
const { startFerretDB, startNatsStreaming } = require('../scripts/servers');
const { MongoClient } = require('./lib/mongodb');
const { makeOrders, createdEvent, Publisher, waitUntil, countOrders } = require('./lib/orders');
const { machineInfo } = require('./lib/machine');
const { cpuSeconds, machineCpu, descendants } = require('./lib/proc-stats');

const HELP = `Usage: node bench/on-sale.js [options]

  --budget <B>          STRIPE_MAX_RPS and the fake's per-endpoint limit (default 20)
  --global <n>          the fake's account-wide limit a second (default 4·B, Stripe's live ratio)
  --demand <x>          buyers arriving a second, as a multiple of B (default 5)
  --instances <n>       service processes (default 3)
  --seconds <s>         how long buyers arrive (default 30)
  --drain <s>           wait after the load stops, before the figures (default 15)
  --pm-share <0..1>     share of buyers paying with paymentMethodId pm_card_visa (default 0.25)
  --max-attempts <n>    attempts of one buyer at most (default 20)
  --label <name>        results go to bench/results/on-sale-<label>.json (default: the commit)
  --fake-stripe <path>  scripts/fake-stripe.js to load (default ONSALE_FAKE_STRIPE, else this checkout's)
  --base-port <p>       first of the ports used (default 47200: FerretDB, NATS, fake Stripe, then services)
  --backend <postgresql|sqlite>  FerretDB's backend (default postgresql, as bench/run.js)
  --connections <n>     keep-alive connections to each instance at most (default 128): requests beyond
                        them wait in the client, as behind a load balancer's pool (buyer latency counts
                        that wait, service latency starts once the request is on its connection)
  --out <dir>           results folder (default bench/results)
`;

function parseArgs(argv) {
  const c = {
    budget: 20,
    global: undefined,
    demand: 5,
    instances: 3,
    seconds: 30,
    drain: 15,
    pmShare: 0.25,
    maxAttempts: 20,
    label: undefined,
    fakeStripe: process.env.ONSALE_FAKE_STRIPE || path.join(__dirname, '..', 'scripts', 'fake-stripe.js'),
    basePort: 47200,
    backend: 'postgresql',
    connections: 128,
    outDir: path.join(__dirname, 'results'),
  };
  const num = (name, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} needs a number, not ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--help' || a === '-h') c.help = true;
    else if (a === '--budget') c.budget = num(a, next());
    else if (a === '--global') c.global = num(a, next());
    else if (a === '--demand') c.demand = num(a, next());
    else if (a === '--instances') c.instances = num(a, next());
    else if (a === '--seconds') c.seconds = num(a, next());
    else if (a === '--drain') c.drain = num(a, next());
    else if (a === '--pm-share') c.pmShare = num(a, next());
    else if (a === '--max-attempts') c.maxAttempts = num(a, next());
    else if (a === '--label') c.label = next();
    else if (a === '--fake-stripe') c.fakeStripe = path.resolve(next());
    else if (a === '--base-port') c.basePort = num(a, next());
    else if (a === '--backend') c.backend = next();
    else if (a === '--connections') c.connections = num(a, next());
    else if (a === '--out') c.outDir = path.resolve(next());
    else throw new Error(`unknown option ${a} (--help)`);
  }
  c.global = c.global ?? 4 * c.budget;
  return c;
}

const log = (line) => process.stderr.write(`on-sale: ${line}\n`);

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** A Stripe endpoint as the limiter counts it: method and path, ids left out. */
function endpointOf(request) {
  return `${request.method} ${request.path.replace(/\/(pi|pm|ch|re|dp|evt|cus)_[A-Za-z0-9_]+/g, '/:id')}`;
}

/** The most requests in any window of `windowMs` (sliding), and in any calendar second. */
function busiest(times, windowMs = 1000) {
  const sorted = [...times].sort((a, b) => a - b);
  let sliding = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= windowMs) j++;
    sliding = Math.max(sliding, i - j + 1);
  }
  const perSecond = new Map();
  for (const t of sorted) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  return { slidingWindow: sliding, calendarSecond: Math.max(0, ...perSecond.values()) };
}

async function main() {
  const config = parseArgs(process.argv.slice(2));
  if (config.help) return void process.stdout.write(HELP);
  if (!fs.existsSync(SERVICE_ENTRY)) throw new Error(`${SERVICE_ENTRY} is missing: run \`npm run build\` first`);
  const B = config.budget;
  const rate = config.demand * B;
  const buyers = Math.ceil(rate * config.seconds);
  const machine = machineInfo();
  const label = config.label ?? machine.commit?.replace(/\s.*/, '') ?? 'run';
  const startedAt = new Date().toISOString();

  // ------------------------------------------------------------ the stack
  const { FakeStripe } = require(config.fakeStripe);
  const port = (k) => config.basePort + k;
  log(`FerretDB (${config.backend}) on ${port(0)}, nats-streaming-server on ${port(1)}, fake Stripe on ${port(2)} (${config.fakeStripe})`);
  const ferretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'payments-onsale-ferretdb-'));
  onCleanup(() => fs.rmSync(ferretDir, { recursive: true, force: true }));
  const ferret = await startFerretDB({ port: port(0), dir: ferretDir, backend: config.backend });
  onCleanup(() => ferret.stop());
  const nats = await startNatsStreaming({ port: port(1) });
  onCleanup(() => nats.stop());
  const fake = await FakeStripe.start({ port: port(2) });
  onCleanup(() => fake.stop());
  fake.rateLimits = { perEndpoint: B, global: config.global };

  const jwtKey = `onsale-jwt-${randomBytes(16).toString('hex')}`;
  const database = `onsale_${label.replace(/[^A-Za-z0-9]/g, '_')}_${randomBytes(3).toString('hex')}`;
  const mongoUri = `${ferret.uri}/${database}`;
  const mongo = await new MongoClient(mongoUri, { serverSelectionTimeoutMS: 10_000 }).connect();
  onCleanup(() => mongo.close());
  const db = mongo.db();

  const services = [];
  for (let k = 0; k < config.instances; k++) {
    const service = await startService({
      name: `payments-${k + 1}`,
      port: port(10 + k),
      env: {
        JWT_KEY: jwtKey,
        MONGO_URI: mongoUri,
        EVENT_BUS: 'stan',
        NATS_URL: nats.url,
        NATS_CLUSTER_ID: nats.clusterId,
        NATS_CLIENT_ID: `payments-onsale-${k + 1}-${randomBytes(3).toString('hex')}`,
        STRIPE_KEY: 'sk_test_onsale',
        STRIPE_API_URL: fake.url,
        STRIPE_MAX_RPS: String(B),
        LOG_LEVEL: 'warn',
      },
    });
    services.push(service);
    log(`${service.name} ready at ${service.url} (pid ${service.pid})`);
  }
  const deadlineMs = 5000; // REQUEST_TIMEOUT_MS's default (src/config.ts); not set here

  // ------------------------------------------------------------ orders
  const orders = makeOrders(buyers, jwtKey);
  const publisher = await Publisher.connect({ url: nats.url, clusterId: nats.clusterId });
  onCleanup(() => publisher.close());
  log(`publishing ${buyers} order:created ...`);
  await publisher.publishAll('order:created', orders.map(createdEvent), 500);
  const replicatedMs = await waitUntil(async () => (await countOrders(db)) >= buyers, { timeoutMs: 120_000, intervalMs: 500 });
  if (replicatedMs === undefined) throw new Error(`the services did not replicate ${buyers} orders within 120 s (${await countOrders(db)})`);
  log(`${buyers} orders replicated in ${round(replicatedMs / 1000, 1)} s; resting 3 s`);
  await sleep(3000);

  // CPU seconds by group (the machine is shared: is the load generator or the database starved?)
  const groups = () => ({
    services: services.map((x) => x.pid),
    ferretdb: [ferret.pid],
    postgres: descendants(process.pid, 'postgres'),
    nats: [nats.pid],
    'bench (load + fake Stripe)': [process.pid],
  });
  const cpuNow = () => {
    const out = {};
    for (const [name, pids] of Object.entries(groups())) out[name] = Object.fromEntries(pids.map((pid) => [pid, cpuSeconds(pid) ?? 0]));
    return { byGroup: out, machine: machineCpu() };
  };
  const cpuUse = (before, after, seconds) => {
    const use = {};
    for (const [name, pids] of Object.entries(after.byGroup)) {
      const used = Object.entries(pids).reduce((sum, [pid, s]) => sum + s - (before.byGroup[name]?.[pid] ?? 0), 0);
      use[name] = round(used / seconds, 2);
    }
    use.machineBusy = after.machine && before.machine ? round((after.machine.busy - before.machine.busy) / seconds, 2) : null;
    // Whatever else ran on the machine meanwhile (it may be shared).
    if (use.machineBusy !== null) use.otherProcesses = round(use.machineBusy - Object.keys(after.byGroup).reduce((sum, name) => sum + use[name], 0), 2);
    return use; // cores busy on average
  };

  // ------------------------------------------------------------ the load
  const cpuBefore = cpuNow();
  // The load generator's (and the in-process fake Stripe's) own event loop: its lag is in every latency measured here.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const answers = []; // { buyer, attempt, status, ms, at (s since start), retryAfter, instance, error }
  const paidAt = new Map(); // order id -> s since start of its 201
  const outcome = new Map();
  const loadStart = Date.now();
  const loadStartPerf = performance.now();
  const loadEndMs = config.seconds * 1000;
  const sinceStart = () => (performance.now() - loadStartPerf) / 1000;
  const requestsBefore = fake.requests.length;
  let inFlight = 0;
  let maxInFlight = 0;
  let late = 0; // arrivals started more than 100 ms after their time (the generator could not keep up)

  // Keep-alive connections, at most --connections to each instance; a request waits in its agent for one.
  // Connections taken in turn (fifo), so that none idles into the service's keep-alive timeout (node's 5 s)
  // and the pool stays open; one idle for 4 s is closed by us first.
  const agents = services.map(() => new http.Agent({ keepAlive: true, maxSockets: config.connections, timeout: 4000, scheduling: 'fifo' }));
  let keepAliveResets = 0;
  onCleanup(() => agents.forEach((agent) => agent.destroy()));
  /** POST /api/payments: status, Retry-After, and the time from the request being on its connection to the answer's end. */
  function post(k, body, cookie) {
    return new Promise((resolve) => {
      let onWire;
      let done = false;
      let reused = false;
      const finish = (result) => {
        if (done) return;
        done = true;
        resolve({ ...result, fresh: !reused, wireMs: onWire === undefined ? undefined : performance.now() - onWire });
      };
      const req = http.request(`${services[k].url}/api/payments`, {
        method: 'POST',
        agent: agents[k],
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), cookie },
        timeout: 60_000,
      }, (res) => {
        res.resume();
        res.on('end', () => {
          const header = res.headers['retry-after'];
          finish({ status: res.statusCode, retryAfter: header === undefined ? undefined : Number(header) });
        });
        res.on('error', (err) => finish({ status: 0, error: err.code ?? err.message }));
      });
      let answered = false;
      req.on('response', () => (answered = true));
      req.on('socket', (socket) => {
        reused = !socket.connecting;
        if (socket.connecting) socket.once('connect', () => (onWire = performance.now()));
        else onWire = performance.now();
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('no answer in 60 s'), { code: 'TIMEOUT' })));
      req.on('error', (err) => {
        // The keep-alive race: the service closed an idle connection as this request went out on it
        // (nothing was read). Sent again at once on another connection, as HTTP clients do.
        if (!done && reused && !answered && err.code === 'ECONNRESET') {
          done = true;
          keepAliveResets++;
          resolve(post(k, body, cookie));
          return;
        }
        finish({ status: 0, error: err.code ?? err.message });
      });
      req.end(body);
    });
  }

  async function buyer(i) {
    const order = orders[i];
    const usePm = (i * 7919) % 1000 < config.pmShare * 1000;
    const body = JSON.stringify(usePm ? { paymentMethodId: 'pm_card_visa', orderId: order.id } : { token: 'tok_visa', orderId: order.id });
    for (let attempt = 1; attempt <= config.maxAttempts; attempt++) {
      const instance = (i + attempt - 1) % services.length;
      const sent = performance.now();
      const at = sinceStart();
      let status = 0;
      let retryAfter;
      let error;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const answer = await post(instance, body, order.cookie);
      inFlight--;
      ({ status, retryAfter, error } = answer);
      const fresh = answer.fresh;
      const ms = performance.now() - sent;
      const wireMs = answer.wireMs;
      answers.push({ buyer: i, method: usePm ? 'pm' : 'token', attempt, status, ms, wireMs, fresh, at, answeredAt: sinceStart(), retryAfter, instance, error });
      if (status === 201 || status === 202) {
        paidAt.set(order.id, sinceStart());
        outcome.set(i, status === 201 ? 'paid' : 'requires_action');
        return;
      }
      if (status === 400 || status === 401 || status === 402 || status === 404) {
        outcome.set(i, `gave up (${status})`);
        return;
      }
      // 503, 429, 409, 5xx, network errors: back after Retry-After (1 s without one), while the sale lasts.
      const waitS = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : 1;
      if ((performance.now() - loadStartPerf) + waitS * 1000 >= loadEndMs) {
        outcome.set(i, 'sale over');
        return;
      }
      await sleep(waitS * 1000);
    }
    outcome.set(i, 'attempts exhausted');
  }

  // The pool opened before the sale, as a load balancer keeps its connections to the instances.
  await Promise.all(services.flatMap((service, k) => Array.from({ length: config.connections }, () =>
    new Promise((resolve) => {
      const req = http.get(`${service.url}/healthz`, { agent: agents[k] }, (res) => res.resume().on('end', resolve));
      req.on('error', resolve);
    }))));
  log(`load: ${rate} buyers a second (${config.demand}× the budget of ${B}) for ${config.seconds} s over ${services.length} instances`);
  const running = [];
  let next = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - loadStartPerf;
      while (next < buyers && next / rate <= elapsed / 1000) {
        if (elapsed - (next / rate) * 1000 > 100) late++;
        running.push(buyer(next++));
      }
      if (next >= buyers || elapsed >= loadEndMs) return resolve();
      setTimeout(tick, 5);
    };
    tick();
  });
  await Promise.all(running);
  const loadEnded = sinceStart();
  const cpuDuringLoad = cpuUse(cpuBefore, cpuNow(), loadEnded);
  loopDelay.disable();
  const benchLoopLagMs = { p50: round(loopDelay.percentile(50) / 1e6, 1), p99: round(loopDelay.percentile(99) / 1e6, 1), max: round(loopDelay.max / 1e6, 1) };
  log(`load over at ${round(loadEnded, 1)} s (${answers.length} answers); draining ${config.drain} s`);
  await sleep(config.drain * 1000);
  const drainEnd = Date.now();

  // ------------------------------------------------------------ figures
  const payments = await db.collection('payments').find({}).toArray();
  const succeeded = payments.filter((p) => p.state === 'succeeded');
  const charging = payments.filter((p) => p.state === 'charging');
  const heldByClaim = charging.filter((p) => !p.actionRequiredAt);
  const succeededOrders = new Set(succeeded.map((p) => p.orderId));
  const chargedOrders = new Map();
  for (const charge of fake.charges) {
    const id = charge.metadata?.orderId;
    if (id) chargedOrders.set(id, (chargedOrders.get(id) ?? 0) + 1);
  }
  const chargedTwice = [...chargedOrders.values()].filter((n) => n > 1).length;
  const lost = [...chargedOrders.keys()].filter((id) => !succeededOrders.has(id));

  const requests = fake.requests.slice(requestsBefore).filter((r) => r.path.startsWith('/v1/'));
  const limited = requests.filter((r) => r.rateLimited);
  const byEndpoint = {};
  for (const r of requests) {
    const e = (byEndpoint[endpointOf(r)] ??= { calls: 0, rateLimited: 0, times: [], accepted: [] });
    e.calls += 1;
    e.times.push(r.at);
    if (r.rateLimited) e.rateLimited += 1;
    else e.accepted.push(r.at);
  }
  // An idempotency key seen again: the SDK's retry of a call, or recovery asking again.
  const keys = new Map();
  for (const r of requests) if (r.idempotencyKey) keys.set(r.idempotencyKey, (keys.get(r.idempotencyKey) ?? 0) + 1);
  for (const [name, e] of Object.entries(byEndpoint)) {
    e.repeatedKeys = requests.filter((r) => endpointOf(r) === name && r.idempotencyKey && keys.get(r.idempotencyKey) > 1).length;
    // The busiest sliding second: when it began (s after the start of the load) and its calls, 100 ms by 100 ms.
    const sorted = [...e.times].sort((a, b) => a - b);
    let best = [0, 0];
    for (let i = 0, j = 0; i < sorted.length; i++) {
      while (sorted[i] - sorted[j] >= 1000) j++;
      if (i - j + 1 > best[1] - best[0]) best = [j, i + 1];
    }
    if (sorted.length) {
      const from = sorted[best[0]];
      const tenths = Array(10).fill(0);
      for (const t of sorted.slice(best[0], best[1])) tenths[Math.min(9, Math.floor((t - from) / 100))] += 1;
      e.busiestWindow = { fromS: round((from - loadStart) / 1000, 2), calls: best[1] - best[0], per100ms: tenths };
    }
  }
  for (const e of Object.values(byEndpoint)) {
    e.busiestSent = busiest(e.times);
    e.busiestAccepted = busiest(e.accepted);
    delete e.times;
    delete e.accepted;
  }
  const allBusiest = busiest(requests.map((r) => r.at));
  // Second by second (from the start of the load): buyers' answers and Stripe's calls.
  const timeline = [];
  const slot = (t) => (timeline[t] ??= { s: t, attempts: 0, paid: 0, refused: 0, stripeSent: {}, stripe429: 0 });
  for (const a of answers) {
    slot(Math.floor(a.at)).attempts += 1;
    if (a.status === 201) slot(Math.floor(a.answeredAt)).paid += 1;
    else if (a.status !== 202) slot(Math.floor(a.answeredAt)).refused += 1;
  }
  for (const r of requests) {
    const t = slot(Math.max(0, Math.floor((r.at - loadStart) / 1000)));
    const e = endpointOf(r).replace('POST /v1/', '').replace(/^GET \/v1\//, 'GET ');
    t.stripeSent[e] = (t.stripeSent[e] ?? 0) + 1;
    if (r.rateLimited) t.stripe429 += 1;
  }
  for (let t = 0; t < timeline.length; t++) slot(t);

  const statuses = {};
  for (const a of answers) {
    const key = a.status === 0 ? `error ${a.error}` : String(a.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  const refusals = {};
  for (const a of answers.filter((x) => x.status !== 201 && x.status !== 202)) {
    const key = a.status === 0 ? `error ${a.error}` : String(a.status);
    const r = (refusals[key] ??= { count: 0, withRetryAfter: 0, values: [] });
    r.count += 1;
    if (a.retryAfter !== undefined && Number.isFinite(a.retryAfter)) {
      r.withRetryAfter += 1;
      r.values.push(a.retryAfter);
    }
  }
  for (const r of Object.values(refusals)) {
    const v = r.values.sort((a, b) => a - b);
    r.retryAfterS = v.length ? { min: v[0], median: percentile(v, 50), max: v[v.length - 1] } : null;
    delete r.values;
  }
  const admitted = Float64Array.from(answers.filter((a) => a.status === 201).map((a) => a.ms)).sort();
  const admittedWire = Float64Array.from(answers.filter((a) => a.status === 201).map((a) => a.wireMs)).sort();
  const allMs = answers.map((a) => a.ms);
  const maxMs = allMs.length ? Math.max(...allMs) : null;
  const wired = answers.filter((a) => a.wireMs !== undefined);
  const maxWireMs = wired.length ? Math.max(...wired.map((a) => a.wireMs)) : null;
  // The deadline is the service's: judged on the time from the request being on its connection to the answer.
  const overDeadline = wired.filter((a) => a.wireMs > deadlineMs).length;
  const overDeadlineByStatus = {};
  for (const a of wired.filter((x) => x.wireMs > deadlineMs)) overDeadlineByStatus[a.status || 'error'] = (overDeadlineByStatus[a.status || 'error'] ?? 0) + 1;
  const buyerOverDeadline = answers.filter((a) => a.ms > deadlineMs).length;
  const overDeadlineOnNewConnections = wired.filter((a) => a.wireMs > deadlineMs && a.fresh).length;
  const slowest = [...wired].sort((a, b) => b.wireMs - a.wireMs).slice(0, 20).map((a) => ({ ...a, ms: round(a.ms, 0), wireMs: round(a.wireMs, 0), at: round(a.at, 2), answeredAt: round(a.answeredAt, 2) }));

  const paidInLoad = [...paidAt.values()].filter((t) => t <= config.seconds).length;
  const firstRefusal = answers.filter((a) => a.status === 503 || a.status === 429).sort((a, b) => a.answeredAt - b.answeredAt)[0];
  const satFrom = firstRefusal ? firstRefusal.answeredAt : 0;
  const paidSaturated = [...paidAt.values()].filter((t) => t >= satFrom && t <= config.seconds).length;
  const satSeconds = config.seconds - satFrom;
  const paidPerSecond = paidInLoad / config.seconds;
  const paidPerSecondSat = satSeconds > 0 ? paidSaturated / satSeconds : null;
  const pct = (a, b) => (b ? round((100 * a) / b, 1) : null);

  const metrics = [];
  for (const s of services) {
    try {
      const text = await (await fetch(`${s.url}/metrics`, { signal: AbortSignal.timeout(15_000) })).text();
      metrics.push({ instance: s.name, lines: text.split('\n').filter((l) => (/^(payments_stripe_\w+|nodejs_eventloop_lag_(p50|p99|max)_seconds)(\{|\s)/.test(l) && !/_bucket\{/.test(l)) || /^payments_http_request_duration_seconds_bucket\{.*le="(5|\+Inf)"/.test(l)) });
    } catch (err) {
      metrics.push({ instance: s.name, error: String(err) });
    }
  }
  // The service's own view (payments_http_request_duration_seconds, from its request log): answers slower than 5 s.
  let serverOver5s = 0;
  for (const m of metrics) {
    for (const l of m.lines ?? []) {
      if (!/^payments_http_request_duration_seconds_bucket/.test(l) || !/\/api\/payments/.test(l)) continue;
      serverOver5s += (/le="\+Inf"/.test(l) ? 1 : -1) * Number(l.split(' ').pop());
    }
  }
  const logs = Object.fromEntries(services.map((s) => [s.name, s.logSummary()]));

  const results = {
    startedAt,
    label,
    options: { ...config, outDir: undefined, deadlineMs, serviceEntry: path.relative(process.cwd(), SERVICE_ENTRY) || SERVICE_ENTRY },
    machine,
    stack: { ferretdb: `${ferret.backend ?? config.backend} (${ferret.uri})`, nats: nats.url, fakeStripe: fake.url, fakeRateLimits: fake.rateLimits, database },
    offered: { buyers, perSecond: rate, arrivalsLate: late, maxInFlight, answers: answers.length, keepAliveResets, loadSeconds: round(loadEnded, 2) },
    coresBusyDuringLoad: cpuDuringLoad,
    benchLoopLagMs,
    paid: {
      inLoad: paidInLoad,
      afterDrain: succeeded.length,
      perSecond: round(paidPerSecond, 2),
      ofBudgetPct: pct(paidPerSecond, B),
      saturatedFromS: round(satFrom, 2),
      saturatedPerSecond: paidPerSecondSat === null ? null : round(paidPerSecondSat, 2),
      saturatedOfBudgetPct: paidPerSecondSat === null ? null : pct(paidPerSecondSat, B),
      requiresAction: [...outcome.values()].filter((o) => o === 'requires_action').length,
    },
    buyers: Object.entries([...outcome.values()].reduce((m, o) => ((m[o] = (m[o] ?? 0) + 1), m), {})).reduce((m, [k, v]) => ((m[k] = v), m), {}),
    stripe: {
      calls: requests.length,
      rateLimited: limited.length,
      rateLimitedPct: pct(limited.length, requests.length),
      byEndpoint,
      busiestAllEndpoints: allBusiest,
      windowS: round((drainEnd - loadStart) / 1000, 1),
    },
    answers: { byStatus: statuses, refusals },
    timeline,
    latencyMs: {
      admitted: { count: admittedWire.length, p50: round(percentile(admittedWire, 50), 1), p99: round(percentile(admittedWire, 99), 1), max: round(admittedWire[admittedWire.length - 1] ?? null, 1) },
      maxOfAnyAnswer: maxWireMs === null ? null : round(maxWireMs, 1),
      serverSideOver5s: serverOver5s,
      buyer: {
        note: 'from the buyer deciding to send: includes the wait for one of the --connections connections',
        admitted: { p50: round(percentile(admitted, 50), 1), p99: round(percentile(admitted, 99), 1), max: round(admitted[admitted.length - 1] ?? null, 1) },
        maxOfAnyAnswer: maxMs === null ? null : round(maxMs, 1),
        overDeadline: buyerOverDeadline,
      },
      overDeadline,
      overDeadlineByStatus,
      overDeadlineOnNewConnections,
      slowest,
      deadline: deadlineMs,
    },
    end: {
      heldByClaim: heldByClaim.length,
      waitingFor3ds: charging.length - heldByClaim.length,
      chargedTwice,
      lost: lost.length,
      lostSample: lost.slice(0, 5),
      chargedOrders: chargedOrders.size,
      succeededPayments: succeeded.length,
      failedPayments: payments.filter((p) => p.state === 'failed').length,
    },
    metrics,
    serviceLogs: logs,
  };
  results.targets = [
    ['paid orders/s ≥ 90 % of the budget (whole run)', results.paid.ofBudgetPct, results.paid.ofBudgetPct >= 90],
    ['Stripe 429s ≤ 1 % of Stripe calls', results.stripe.rateLimitedPct, results.stripe.rateLimitedPct <= 1],
    [`every answer within the request deadline (${deadlineMs} ms, on the connection)`, results.latencyMs.maxOfAnyAnswer, overDeadline === 0 && !answers.some((a) => a.status === 0)],
    ['every refusal with Retry-After', Object.values(refusals).reduce((s, r) => s + r.count - r.withRetryAfter, 0), Object.values(refusals).every((r) => r.withRetryAfter === r.count)],
    ['0 orders held by a claim at the end', heldByClaim.length, heldByClaim.length === 0],
    ['0 charged twice', chargedTwice, chargedTwice === 0],
    ['0 lost', lost.length, lost.length === 0],
    [`busiest second per endpoint ≤ ${B} (sent, all instances)`, Math.max(0, ...Object.values(byEndpoint).map((e) => e.busiestSent.slidingWindow)), Object.values(byEndpoint).every((e) => e.busiestSent.slidingWindow <= B)],
  ].map(([target, figure, met]) => ({ target, figure, status: met ? 'met' : 'not met' }));

  fs.mkdirSync(config.outDir, { recursive: true });
  const file = path.join(config.outDir, `on-sale-${label}.json`);
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(report(results));
  log(`results written to ${path.relative(ROOT, file)}`);
}

function report(r) {
  const B = r.options.budget;
  const lines = [];
  const p = (s) => lines.push(s);
  p(`\n## On-sale: ${r.label} — budget ${B}/s per endpoint, ${r.offered.perSecond} buyers/s offered for ${r.options.seconds} s, ${r.options.instances} instances`);
  p(`machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGb} GB, node ${r.machine.node}; FerretDB ${r.stack.ferretdb.split(' ')[0]}; fake Stripe limits ${JSON.stringify(r.stack.fakeRateLimits)}`);
  p(`offered: ${r.offered.buyers} buyers, ${r.offered.answers} answers (${r.offered.keepAliveResets} keep-alive resets sent again), ${r.offered.arrivalsLate} arrivals > 100 ms late, ${r.offered.maxInFlight} requests in flight at most`);
  p(`cores busy during the load (of ${r.machine.cpus}): ${JSON.stringify(r.coresBusyDuringLoad)}`);
  p(`event-loop lag (ms) of the bench process (load generator + fake Stripe): ${JSON.stringify(r.benchLoopLagMs)}; of the services (since start): ${r.metrics.map((m) => (m.lines ?? []).filter((l) => /eventloop_lag_(p99|max)/.test(l)).map((l) => `${l.split(' ')[0].replace('nodejs_eventloop_lag_', '').replace('_seconds', '')} ${round(Number(l.split(' ')[1]) * 1000, 0)}`).join(' ')).join(' | ')}`);
  p(`paid: ${r.paid.inLoad} during the load = ${r.paid.perSecond}/s = ${r.paid.ofBudgetPct} % of the budget; saturated (from ${r.paid.saturatedFromS} s): ${r.paid.saturatedPerSecond}/s = ${r.paid.saturatedOfBudgetPct} %; ${r.paid.afterDrain} succeeded payments after the drain`);
  p(`buyers: ${JSON.stringify(r.buyers)}`);
  p(`Stripe: ${r.stripe.calls} calls, ${r.stripe.rateLimited} answered 429 (${r.stripe.rateLimitedPct} %)`);
  for (const [e, x] of Object.entries(r.stripe.byEndpoint)) {
    p(`  ${e}: ${x.calls} calls, ${x.rateLimited} 429s; busiest second sent ${x.busiestSent.slidingWindow} (sliding) / ${x.busiestSent.calendarSecond} (calendar), accepted ${x.busiestAccepted.slidingWindow}; ${x.repeatedKeys} calls with a repeated Idempotency-Key${x.busiestWindow ? `; busiest window from ${x.busiestWindow.fromS} s, per 100 ms ${x.busiestWindow.per100ms.join(',')}` : ''}`);
  }
  p(`answers by status: ${JSON.stringify(r.answers.byStatus)}`);
  for (const [s, x] of Object.entries(r.answers.refusals)) {
    p(`  ${s}: ${x.count}, ${x.withRetryAfter} with Retry-After${x.retryAfterS ? ` (min ${x.retryAfterS.min} / median ${x.retryAfterS.median} / max ${x.retryAfterS.max} s)` : ''}`);
  }
  const l = r.latencyMs;
  p(`admitted (201) latency on the connection: p50 ${l.admitted.p50} ms, p99 ${l.admitted.p99} ms, max ${l.admitted.max} ms; slowest answer of all ${l.maxOfAnyAnswer} ms vs deadline ${l.deadline} ms (${l.overDeadline} over: ${JSON.stringify(l.overDeadlineByStatus)}, ${l.overDeadlineOnNewConnections} of them on a connection just opened)`);
  p(`  the services' own histogram: ${l.serverSideOver5s} answers over 5 s; slowest on the connection: ${l.slowest.slice(0, 5).map((a) => `${a.status || a.error} ${a.wireMs} ms sent at ${a.at} s to #${a.instance + 1}`).join(', ')}`);
  p(`  as the buyer saw it (incl. waiting for a connection): 201 p50 ${l.buyer.admitted.p50} ms, p99 ${l.buyer.admitted.p99} ms; slowest answer ${l.buyer.maxOfAnyAnswer} ms, ${l.buyer.overDeadline} over ${l.deadline} ms`);
  const e = r.end;
  p(`at the end: ${e.heldByClaim} held by a claim (+${e.waitingFor3ds} waiting for 3-D Secure), ${e.chargedTwice} charged twice, ${e.lost} lost; ${e.chargedOrders} orders charged at Stripe, ${e.succeededPayments} succeeded, ${e.failedPayments} failed payments`);
  p('second by second (attempts sent / 201s / refusals / Stripe calls by endpoint / 429s):');
  p(`  ${r.timeline.map((t) => `${t.s}:${t.attempts}/${t.paid}/${t.refused}/${Object.values(t.stripeSent).join('+') || 0}/${t.stripe429}`).join(' ')}`);
  p('targets:');
  for (const t of r.targets) p(`  [${t.status}] ${t.target}: ${t.figure}`);
  return `${lines.join('\n')}\n`;
}

let exiting = false;
async function finish(code, err) {
  if (exiting) return;
  exiting = true;
  if (err) process.stderr.write(`on-sale: could not run: ${err && err.stack ? err.stack : err}\n`);
  await cleanupAll();
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void finish(130, new Error(`interrupted (${signal})`)));
process.on('unhandledRejection', (err) => void finish(1, err));

main().then(
  () => finish(0),
  (err) => finish(1, err),
);
