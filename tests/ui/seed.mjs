// Seeds a running Hearth with an hour of demo data over its public APIs:
// metrics and traces as OTLP/JSON, logs as a Loki JSON push. Used by the
// browser tests and by `node tests/ui/seed.mjs <http-url> <otlp-http-url>`
// when working on the UI.

const SERVICES = ['frontend', 'checkout', 'payments'];
const HOUR_S = 3600;
const STEP_S = 15;

function hex(n, seed) {
  let x = seed >>> 0;
  let out = '';
  while (out.length < n) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    out += x.toString(16).padStart(8, '0');
  }
  return out.slice(0, n);
}

async function post(url, body, contentType = 'application/json') {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return res;
}

/** OTLP/JSON metrics: a counter and a gauge per service, every 15 s for an
 *  hour up to `nowS`. */
export async function seedMetrics(otlpHttp, nowS) {
  const start = nowS - HOUR_S;
  const resourceMetrics = SERVICES.map((service, si) => {
    const requests = [];
    const memory = [];
    let total = 0;
    for (let t = start; t <= nowS; t += STEP_S) {
      total += 5 + si * 3 + ((t / STEP_S) % 7);
      const ns = String(BigInt(Math.round(t)) * 1000000000n);
      requests.push({ timeUnixNano: ns, startTimeUnixNano: String(BigInt(start) * 1000000000n), asDouble: total });
      memory.push({ timeUnixNano: ns, asDouble: 100e6 + si * 50e6 + 10e6 * Math.sin(t / 600) });
    }
    return {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeMetrics: [{
        scope: { name: 'ui-seed' },
        metrics: [
          { name: 'demo_requests', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: requests } },
          { name: 'demo_memory_bytes', gauge: { dataPoints: memory } },
        ],
      }],
    };
  });
  await post(`${otlpHttp}/v1/metrics`, { resourceMetrics });
}

/** A trace id that the seeded logs and traces share. */
export const SHARED_TRACE_ID = hex(32, 7);

/** OTLP/JSON traces: `count` traces of three spans each over the hour;
 *  the first uses SHARED_TRACE_ID and has an error and an event. */
export async function seedTraces(otlpHttp, nowS, count = 20) {
  const spansBy = new Map(SERVICES.map((s) => [s, []]));
  for (let i = 0; i < count; i++) {
    const traceId = i === 0 ? SHARED_TRACE_ID : hex(32, 1000 + i);
    const t0 = BigInt(Math.round((nowS - 60 - i * 120) * 1000)) * 1000000n;
    const root = hex(16, 2000 + i);
    const mid = hex(16, 3000 + i);
    const leaf = hex(16, 4000 + i);
    const ms = (x) => BigInt(x) * 1000000n;
    spansBy.get('frontend').push({
      traceId, spanId: root, name: 'GET /checkout', kind: 2,
      startTimeUnixNano: String(t0), endTimeUnixNano: String(t0 + ms(120 + i)),
      attributes: [{ key: 'http.method', value: { stringValue: 'GET' } }, { key: 'http.route', value: { stringValue: '/checkout' } }],
      status: {},
    });
    spansBy.get('checkout').push({
      traceId, spanId: mid, parentSpanId: root, name: 'place order', kind: 1,
      startTimeUnixNano: String(t0 + ms(5)), endTimeUnixNano: String(t0 + ms(100 + i)),
      attributes: [{ key: 'order.items', value: { intValue: String(1 + (i % 4)) } }],
      events: i === 0 ? [{ timeUnixNano: String(t0 + ms(50)), name: 'retrying payment', attributes: [{ key: 'attempt', value: { intValue: '2' } }] }] : [],
      status: {},
    });
    spansBy.get('payments').push({
      traceId, spanId: leaf, parentSpanId: mid, name: 'charge card', kind: 3,
      startTimeUnixNano: String(t0 + ms(10)), endTimeUnixNano: String(t0 + ms(90)),
      attributes: [{ key: 'payment.provider', value: { stringValue: 'demo-pay' } }],
      status: i === 0 ? { code: 2, message: 'card declined' } : { code: 1 },
    });
  }
  const resourceSpans = SERVICES.map((service) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [{ scope: { name: 'ui-seed' }, spans: spansBy.get(service) }],
  }));
  await post(`${otlpHttp}/v1/traces`, { resourceSpans });
}

/** Pushes one log line now (for the live-tail test). */
export async function pushLine(base, labels, line, metadata) {
  const nowNs = String(BigInt(Date.now()) * 1000000n);
  const value = metadata ? [nowNs, line, metadata] : [nowNs, line];
  await post(`${base}/loki/api/v1/push`, { streams: [{ stream: labels, values: [value] }] });
}

/** Loki JSON push: three streams of lines over the hour, some errors, one
 *  carrying SHARED_TRACE_ID in its structured metadata and text. */
export async function seedLogs(base, nowS) {
  const streams = [];
  for (const [si, service] of SERVICES.entries()) {
    const values = [];
    for (let t = nowS - HOUR_S, i = 0; t <= nowS - 5; t += 20, i++) {
      const ns = String(BigInt(Math.round(t * 1000)) * 1000000n + BigInt(si));
      const level = i % 9 === 0 ? 'error' : 'info';
      values.push([ns, `level=${level} service=${service} msg="handled request" duration_ms=${10 + (i % 50)}`]);
    }
    if (service === 'payments') {
      const ns = String(BigInt(Math.round((nowS - 60) * 1000)) * 1000000n + 999n);
      values.push([ns, `level=error msg="card declined" trace_id=${SHARED_TRACE_ID}`,
        { trace_id: SHARED_TRACE_ID, user: 'demo-user' }]);
    }
    values.sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
    streams.push({ stream: { job: 'demo', service, env: 'home' }, values });
  }
  await post(`${base}/loki/api/v1/push`, { streams });
}

/** All of the above at once. */
export async function seedAll(base, otlpHttp, nowS = Math.floor(Date.now() / 1000)) {
  await seedMetrics(otlpHttp, nowS);
  await seedLogs(base, nowS);
  await seedTraces(otlpHttp, nowS);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [base, otlp] = process.argv.slice(2);
  if (!base || !otlp) {
    console.error('usage: node seed.mjs <hearth-http-url> <otlp-http-url>');
    process.exit(2);
  }
  await seedAll(base, otlp);
  console.log('seeded');
}
