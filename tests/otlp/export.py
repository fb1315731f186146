"""Exports logs and metrics (and traces) to Hearth with the OpenTelemetry
Python SDK and its real OTLP exporters, over gRPC or OTLP/HTTP.

Used by tests/otlp_python.rs. Prints one JSON object describing what was
sent; exits non-zero if any export did not succeed.
"""

import argparse
import json
import logging
import sys

from opentelemetry.sdk.resources import Resource


class Checked:
    """Wraps an exporter and remembers each export's result, since the SDK's
    processors only log failures."""

    def __init__(self, inner):
        self._inner = inner
        self.results = []

    def export(self, batch, *args, **kwargs):
        result = self._inner.export(batch, *args, **kwargs)
        self.results.append(result)
        return result

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def ok(self):
        return bool(self.results) and all(r.name == "SUCCESS" for r in self.results)


def exporters(transport, endpoint):
    if transport == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from grpc import Compression

        kw = dict(endpoint=endpoint, insecure=True, compression=Compression.Gzip)
        return OTLPLogExporter(**kw), OTLPMetricExporter(**kw), OTLPSpanExporter(**kw)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.exporter.otlp.proto.http import Compression

    base = endpoint.rstrip("/")
    return (
        OTLPLogExporter(endpoint=base + "/v1/logs", compression=Compression.Gzip),
        OTLPMetricExporter(endpoint=base + "/v1/metrics"),
        OTLPSpanExporter(endpoint=base + "/v1/traces", compression=Compression.Gzip),
    )


def send_logs(exporter, resource, tag):
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    checked = Checked(exporter)
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(BatchLogRecordProcessor(checked))
    logger = logging.getLogger("hearth.e2e." + tag)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=provider))
    logger.info("order placed %s", tag, extra={"order.id": 42})
    logger.error("payment failed %s", tag, extra={"retry.count": 3})
    logger.warning("multi\nline %s", tag)
    flushed = provider.force_flush()
    provider.shutdown()
    return flushed and checked.ok()


def send_metrics(exporter, resource):
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    checked = Checked(exporter)
    # A long interval: the only export is the explicit flush below, so the
    # test sees exactly one set of points.
    reader = PeriodicExportingMetricReader(checked, export_interval_millis=3_600_000)
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter = provider.get_meter("hearth.e2e", "1.0.0")
    orders = meter.create_counter("shop.orders", unit="{order}", description="Orders placed")
    orders.add(3, {"payment.method": "card"})
    orders.add(2, {"payment.method": "cash"})
    duration = meter.create_histogram("http.server.duration", unit="ms", description="Request time")
    for v in (3, 7, 40, 120):
        duration.record(v, {"http.route": "/pay"})
    queue = meter.create_up_down_counter("queue.depth", unit="1")
    queue.add(5)
    queue.add(-2)
    flushed = provider.force_flush()
    provider.shutdown()
    return flushed and checked.ok()


def send_traces(transport, endpoint, resource, service):
    """A checkout request: a server span in `service` calling a payments
    service over a client span, whose server span lives in another
    service (and another tracer provider, so another export), as two
    instrumented processes would send them."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanKind, Status, StatusCode

    payments_resource = resource.merge(Resource.create({"service.name": service + "-payments"}))
    out = {}
    providers = []
    tracers = []
    checks = []
    for res in (resource, payments_resource):
        checked = Checked(exporters(transport, endpoint)[2])
        provider = TracerProvider(resource=res)
        provider.add_span_processor(BatchSpanProcessor(checked))
        providers.append(provider)
        tracers.append(provider.get_tracer("hearth.e2e", "1.0.0"))
        checks.append(checked)
    front, payments = tracers
    with front.start_as_current_span("GET /checkout", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.route", "/checkout")
        with front.start_as_current_span("POST /pay", kind=SpanKind.CLIENT) as client:
            client.set_attribute("http.status_code", 502)
            ctx = trace.set_span_in_context(client)
            with payments.start_as_current_span("charge", context=ctx, kind=SpanKind.SERVER) as server:
                server.set_status(Status(StatusCode.ERROR, "card declined"))
                server.add_event("retry", {"attempt": 2})
        out["trace_id"] = format(root.get_span_context().trace_id, "032x")
    ok = True
    for p in providers:
        ok = p.force_flush() and ok
        p.shutdown()
    out["ok"] = ok and all(c.ok() for c in checks)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--transport", choices=["grpc", "http"], required=True)
    p.add_argument("--endpoint", required=True)
    p.add_argument("--service", required=True)
    p.add_argument("--signals", default="logs,metrics,traces")
    args = p.parse_args()
    resource = Resource.create(
        {
            "service.name": args.service,
            "service.instance.id": "instance-1",
            "k8s.namespace.name": "e2e",
            "host.name": "test-host",
        }
    )
    log_exp, metric_exp, _span_exp = exporters(args.transport, args.endpoint)
    report = {}
    signals = args.signals.split(",")
    if "logs" in signals:
        report["logs"] = send_logs(log_exp, resource, args.service)
    if "metrics" in signals:
        report["metrics"] = send_metrics(metric_exp, resource)
    if "traces" in signals:
        sent = send_traces(args.transport, args.endpoint, resource, args.service)
        report["traces"] = sent["ok"]
        report["trace_id"] = sent["trace_id"]
    print(json.dumps(report))
    sys.exit(0 if all(v for k, v in report.items() if k != "trace_id") else 1)


if __name__ == "__main__":
    main()
