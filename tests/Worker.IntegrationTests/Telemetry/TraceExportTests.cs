using System.Text;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Worker.Contracts;
using Worker.Hosting;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Simulator;
using Worker.Simulator.Calls;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Telemetry;

/// <summary>
/// A request's trace, end to end, as OTLP delivers it: a worker on a queue of its own exports by OTLP/HTTP (set in its
/// configuration, as an operator sets OTEL_* variables) to a receiver inside the test, which decodes the protobuf. The
/// producer's bus runs in this process, so its send span is exported by the worker's tracer too: the trace starts at the
/// publish. Listeners are process-wide, so every check is on the trace of the request at hand.
/// </summary>
public sealed class TraceExportTests : IAsyncLifetime
{
    private const string Queue = "it-otel-requests";
    private const string ResultsQueue = "it-otel-results";
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(60);
    private OtlpReceiver _receiver = null!;
    private WebApplication _simulator = null!;
    private SimulatorState _sim = null!;
    private WebApplication _worker = null!;
    private TestProducer _producer = null!;

    public async Task InitializeAsync()
    {
        await AuditDatabase.MigrateAsync(TestEnvironment.Postgres);
        await RawAmqp.DeleteRequestQueuesAsync(Queue, ResultsQueue);
        _receiver = await OtlpReceiver.StartAsync();
        _simulator = SimulatorApp.Build(["--urls", "http://127.0.0.1:0"]);
        await _simulator.StartAsync();
        _sim = _simulator.Services.GetRequiredService<SimulatorState>();
        var settings = PipelineFixture.WorkerSettings(_simulator.GetBaseAddress());
        settings["Messaging:QueueName"] = Queue;
        settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = _receiver.Endpoint.ToString();
        settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        settings["OTEL_SERVICE_NAME"] = "it-otel-worker";
        settings["OTEL_METRIC_EXPORT_INTERVAL"] = "500";
        settings["OTEL_BSP_SCHEDULE_DELAY"] = "200";
        _worker = WorkerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(settings));
        await _worker.StartAsync();
        await _worker.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
        _producer = await TestProducer.StartAsync(ResultsQueue);
    }

    [Fact]
    public async Task A_request_is_one_trace_from_the_producers_send_through_the_consume_the_call_the_database_and_the_result_publish()
    {
        var request = TestProducer.NewRequest($"trace me {Guid.NewGuid():N}");

        await _producer.SendAsync(Queue, request);
        Assert.IsType<CompletionSucceeded>(await _producer.WaitForResultAsync(request.RequestId));

        var traceId = await TraceOfAsync(request.RequestId);
        var trace = await Eventually.ValueAsync(() => Task.FromResult(_receiver.Trace(traceId)), spans => IsWhole(spans) && Has(spans),
            Within, "the request's trace, whole, with the send, the consume, the call, a database span and the result publish");

        var root = Assert.Single(trace, s => s.ParentSpanId.Length == 0);
        Assert.Equal(("MassTransit", OtlpSpanKind.Producer), (root.Scope, root.Kind));
        var chain = Assert.Single(trace, s => s.Name == "worker.chain default");
        var consume = Ancestors(trace, chain).FirstOrDefault(s => s is { Scope: "MassTransit", Kind: OtlpSpanKind.Consumer });
        Assert.True(consume is not null && Below(trace, consume, root), $"the chain span is not under a consume under the send: {Describe(trace)}");

        var call = Assert.Single(trace, s => s.Name.StartsWith("chat ", StringComparison.Ordinal));
        Assert.Equal(chain.SpanId, call.ParentSpanId);
        Assert.Equal(OtlpSpanKind.Client, call.Kind);
        Assert.Equal("chat", call["gen_ai.operation.name"]);
        Assert.Equal("gcp.gemini", call["gen_ai.system"]);
        Assert.Equal("gcp.gemini", call["gen_ai.provider.name"]);
        Assert.Equal(call.Name, $"chat {call["gen_ai.request.model"]}");
        Assert.NotNull(call["gen_ai.response.model"]);
        Assert.True((long)call["gen_ai.usage.input_tokens"]! > 0);
        Assert.True((long)call["gen_ai.usage.output_tokens"]! > 0);
        Assert.Equal("answered", call["worker.decision"]);
        Assert.Equal(request.RequestId.ToString(), call["worker.request_id"]);
        // The provider's HTTP call is under the chat span, with no query string to leak.
        var http = Assert.Single(trace, s => s.Kind == OtlpSpanKind.Client && s.ParentSpanId == call.SpanId);
        Assert.DoesNotContain("?", (string?)http["url.full"] ?? "", StringComparison.Ordinal);

        Assert.Contains(trace, s => s.Scope == "Npgsql" && Below(trace, s, consume));
        var resultPublish = trace.Where(s => s is { Scope: "MassTransit", Kind: OtlpSpanKind.Producer } && s != root && Below(trace, s, consume)).ToList();
        Assert.Contains(resultPublish, s => s.Name.Contains(nameof(CompletionSucceeded), StringComparison.Ordinal));
        Assert.Contains(_receiver.Resources, r => Equals(r.GetValueOrDefault("service.name"), "it-otel-worker"));
        AssertNoSecrets();
    }

    [Fact]
    public async Task A_deferred_request_answered_later_stays_in_the_trace_it_began_in()
    {
        // One 429 asking for 7 s, past Chain:InProcessWaitLimit (5 s): deferred, released by the poll, answered on the retry.
        _sim.SetProfile("gemini", new FaultProfile { Script = ["429"], RetryAfterSeconds = 7 });
        var request = TestProducer.NewRequest($"defer me {Guid.NewGuid():N}");

        await _producer.SendAsync(Queue, request);
        Assert.IsType<CompletionSucceeded>(await _producer.WaitForResultAsync(request.RequestId));

        var traceId = await TraceOfAsync(request.RequestId);
        var trace = await Eventually.ValueAsync(() => Task.FromResult(_receiver.Trace(traceId)),
            spans => IsWhole(spans) && spans.Count(s => s.Name.StartsWith("chat ", StringComparison.Ordinal)) == 2
                && spans.Any(s => s.Name == "worker.deferral.release") && spans.Any(s => s.Name.Contains(nameof(CompletionSucceeded), StringComparison.Ordinal)),
            Within, "both calls, the release and the result publish in the request's trace");

        var calls = trace.Where(s => s.Name.StartsWith("chat ", StringComparison.Ordinal)).OrderBy(s => (long)s["worker.attempt"]!).ToList();
        Assert.Equal(["deferred", "answered"], calls.Select(c => (string)c["worker.decision"]!));
        Assert.Equal("rate_limit", calls[0]["error.type"]);
        Assert.Equal(OtlpStatusCode.Error, calls[0].Status);
        // The release continues the trace under the first delivery, and the resumed run is under the release.
        var release = Assert.Single(trace, s => s.Name == "worker.deferral.release");
        var firstConsume = Ancestors(trace, calls[0]).First(s => s is { Scope: "MassTransit", Kind: OtlpSpanKind.Consumer });
        Assert.True(Below(trace, release, firstConsume), $"the release is not under the first consume: {Describe(trace)}");
        Assert.True(Below(trace, calls[1], release), $"the resumed call is not under the release: {Describe(trace)}");
        Assert.Single(trace, s => s.ParentSpanId.Length == 0);
        AssertNoSecrets();
    }

    [Fact]
    public async Task The_worker_meter_and_runtime_metrics_arrive_by_OTLP()
    {
        // MassTransit's meter is exported too, but MassTransit makes its instruments once per process (static), from the
        // first bus: in a test process that has already started and stopped other hosts they may be gone, so it is not
        // checked here (it arrives when this class runs alone).
        var request = TestProducer.NewRequest($"count me {Guid.NewGuid():N}");

        await _producer.SendAsync(Queue, request);
        await _producer.WaitForResultAsync(request.RequestId);

        var names = await Eventually.ValueAsync(() => Task.FromResult(_receiver.MetricNames.ToHashSet()),
            n => n.Contains("worker.requests") && n.Contains("worker.provider.calls") && n.Any(m => m.StartsWith("dotnet.", StringComparison.Ordinal)),
            Within, "worker.requests, worker.provider.calls and a dotnet.* runtime metric");
        Assert.Contains("worker.tokens", names);
        AssertNoSecrets();
    }

    /// <summary>The trace id of the request's first call span, once it has arrived.</summary>
    private async Task<string> TraceOfAsync(Guid requestId)
    {
        var id = requestId.ToString();
        var call = await Eventually.ValueAsync(() => Task.FromResult(_receiver.Spans.FirstOrDefault(s => Equals(s["worker.request_id"], id) && s.Name.StartsWith("chat ", StringComparison.Ordinal))),
            s => s is not null, Within, $"a chat span of request {id}");
        return call!.TraceId;
    }

    /// <summary>One root, and every other span's parent received: the spans form one tree.</summary>
    private static bool IsWhole(List<OtlpSpan> trace)
    {
        var ids = trace.Select(s => s.SpanId).ToHashSet();
        return trace.Count(s => s.ParentSpanId.Length == 0) == 1 && trace.All(s => s.ParentSpanId.Length == 0 || ids.Contains(s.ParentSpanId));
    }

    private static bool Has(List<OtlpSpan> trace) =>
        trace.Any(s => s is { Scope: "MassTransit", Kind: OtlpSpanKind.Consumer })
        && trace.Any(s => s.Name.StartsWith("chat ", StringComparison.Ordinal))
        && trace.Any(s => s.Scope == "Npgsql")
        && trace.Any(s => s.Scope == "MassTransit" && s.Name.Contains(nameof(CompletionSucceeded), StringComparison.Ordinal));

    private static IEnumerable<OtlpSpan> Ancestors(List<OtlpSpan> trace, OtlpSpan span)
    {
        var byId = trace.ToDictionary(s => s.SpanId);
        for (var at = span; byId.TryGetValue(at.ParentSpanId, out var parent); at = parent)
            yield return parent;
    }

    private static bool Below(List<OtlpSpan> trace, OtlpSpan span, OtlpSpan ancestor) => Ancestors(trace, span).Contains(ancestor);

    private static string Describe(List<OtlpSpan> trace) => Environment.NewLine + string.Join(Environment.NewLine, trace);

    /// <summary>No simulator key in anything the worker exported.</summary>
    private void AssertNoSecrets()
    {
        var received = string.Join("\n", _receiver.Bodies.Select(b => Encoding.UTF8.GetString(b)));
        Assert.NotEmpty(received);
        foreach (var key in new[] { "sim-gemini-key", "sim-openai-key", "sim-anthropic-key", "sim-mistral-key", "sim-groq-key", "sim-openrouter-key" })
            Assert.DoesNotContain(key, received, StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        await _producer.DisposeAsync();
        await _worker.StopAsync();
        await _worker.DisposeAsync();
        await _simulator.StopAsync();
        await _simulator.DisposeAsync();
        await _receiver.DisposeAsync();
        // Left bound to the request exchange, the queue would collect every request later tests publish.
        await RawAmqp.DeleteRequestQueuesAsync(Queue, ResultsQueue);
    }
}
