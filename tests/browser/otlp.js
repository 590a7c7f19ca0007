// otlp.js: decode an OTLP/HTTP JSON trace export with the OpenTelemetry protobuf definitions
// (the ones @opentelemetry/otlp-transformer ships, loaded by protobufjs): the JSON must map onto
// ExportTraceServiceRequest, survive a binary round trip, and say what it holds.
//   node otlp.js < body.json   ->  {"valid": true, "spans": N, ...} or an error and exit 1
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');
const T = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

let text = '';
process.stdin.on('data', (d) => (text += d));
process.stdin.on('end', () => {
  const json = JSON.parse(text);
  // the JSON mapping writes ids as hex; protobufjs' object form takes bytes
  for (const rs of json.resourceSpans || [])
    for (const ss of rs.scopeSpans || [])
      for (const s of ss.spans || [])
        for (const k of ['traceId', 'spanId', 'parentSpanId'])
          if (s[k] !== undefined) {
            if (!/^[0-9a-f]*$/.test(s[k])) throw new Error(`${k} is not hex: ${s[k]}`);
            s[k] = Buffer.from(s[k], 'hex');
          }
  // 64-bit times are strings in the JSON mapping; fromObject turns them into Longs
  const msg = T.fromObject(json);
  const err = T.verify(msg);
  if (err) { console.error(err); process.exit(1); }
  for (const s of msg.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((x) => x.spans)))
    if (s.startTimeUnixNano.isZero() || s.endTimeUnixNano.lessThan(s.startTimeUnixNano))
      throw new Error(`span ${s.name}: bad times`);
  const back = T.decode(T.encode(msg).finish());
  const spans = back.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
  const attrs = back.resourceSpans[0].resource.attributes.map((a) => a.key);
  console.log(JSON.stringify({
    valid: true,
    spans: spans.length,
    roots: spans.filter((s) => !s.parentSpanId || !s.parentSpanId.length).length,
    resource: attrs,
    traceIdBytes: spans.length ? spans[0].traceId.length : 0,
  }));
});
