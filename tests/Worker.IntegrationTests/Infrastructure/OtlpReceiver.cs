using System.Collections.Concurrent;
using System.IO.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Worker.IntegrationTests.Infrastructure;

/// <summary>
/// An OTLP/HTTP receiver (http/protobuf) inside the test: a tiny Kestrel app on 127.0.0.1 taking POST /v1/traces and
/// /v1/metrics, keeping every body as received and the spans and metric names decoded from them.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<byte[]> _bodies = new();
    private readonly ConcurrentQueue<OtlpSpan> _spans = new();
    private readonly ConcurrentQueue<string> _metrics = new();
    private readonly ConcurrentQueue<Dictionary<string, object>> _resources = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>Where to point OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces and /v1/metrics).</summary>
    public Uri Endpoint => new(_app.Urls.Single());

    public IReadOnlyList<OtlpSpan> Spans => [.. _spans];

    public IReadOnlyList<string> MetricNames => [.. _metrics];

    public IReadOnlyList<Dictionary<string, object>> Resources => [.. _resources];

    /// <summary>Every request body received, as sent (decompressed if gzipped).</summary>
    public IReadOnlyList<byte[]> Bodies => [.. _bodies];

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            var body = await receiver.ReadAsync(request);
            foreach (var span in OtlpWire.ReadSpans(body))
                receiver._spans.Enqueue(span);
            foreach (var resource in OtlpWire.ReadResources(body))
                receiver._resources.Enqueue(resource);
            return Results.Bytes([], "application/x-protobuf");
        });
        app.MapPost("/v1/metrics", async (HttpRequest request) =>
        {
            var body = await receiver.ReadAsync(request);
            foreach (var name in OtlpWire.ReadMetricNames(body))
                receiver._metrics.Enqueue(name);
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        return receiver;
    }

    private async Task<byte[]> ReadAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        var body = request.Headers.ContentEncoding == "gzip" ? new GZipStream(request.Body, CompressionMode.Decompress) : request.Body;
        await body.CopyToAsync(buffer);
        var bytes = buffer.ToArray();
        _bodies.Enqueue(bytes);
        return bytes;
    }

    /// <summary>The spans of one trace received so far.</summary>
    public List<OtlpSpan> Trace(string traceId) => [.. _spans.Where(s => s.TraceId == traceId)];

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
