using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Worker.Audit;
using Worker.Chain;
using Worker.Contracts;
using Worker.Metrics;
using Worker.Persistence;
using Worker.Providers;

namespace Worker.Tests.Audit;

public sealed class WorkerMetricsTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measured = [];

    public WorkerMetricsTests()
    {
        var factory = _services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Only this test's meter: another test may create its own WorkerMetrics.
            if (instrument.Meter.Name == WorkerMetrics.MeterName && instrument.Meter.Scope == factory)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        _listener.Start();
        Metrics = new WorkerMetrics(factory);
    }

    private WorkerMetrics Metrics { get; }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        lock (_measured)
        {
            _measured.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
        }
    }

    [Fact]
    public void A_deadline_rejection_is_a_deadline_failure_with_no_call_for_the_request_in_any_run()
    {
        static ChainOutcome Outcome(string? reason, int priorCalls = 0, params AttemptRecord[] attempts) =>
            new(null, null, reason, "error", attempts) { PriorCalls = priorCalls };
        static AttemptRecord Attempt(bool called, string? note) => new(0, "gemini", "gemini-2.5-pro", 1, DateTimeOffset.UnixEpoch,
            DateTimeOffset.UnixEpoch, called, null, null, null, called ? Decision.GaveUp : Decision.Skipped, null, null, null, null, note);

        Assert.Equal(WorkerMetrics.DeadlineExpired, WorkerMetrics.DeadlineRejection(Outcome(FailureReasons.DeadlineExceeded)));
        Assert.Equal(WorkerMetrics.DeadlineTooLittleTime,
            WorkerMetrics.DeadlineRejection(Outcome(FailureReasons.DeadlineExceeded, 0, Attempt(false, ChainRunner.DeadlineSkip))));
        // A run resumed after a pacing deferral (a skip of another kind) whose deadline had passed: expired.
        Assert.Equal(WorkerMetrics.DeadlineExpired,
            WorkerMetrics.DeadlineRejection(Outcome(FailureReasons.DeadlineExceeded, 0, Attempt(false, "deferred: pacing"))));
        Assert.Null(WorkerMetrics.DeadlineRejection(Outcome(FailureReasons.DeadlineExceeded, 0, Attempt(true, null))));
        Assert.Null(WorkerMetrics.DeadlineRejection(Outcome(FailureReasons.DeadlineExceeded, priorCalls: 2)));
        Assert.Null(WorkerMetrics.DeadlineRejection(Outcome(FailureReasons.ProvidersExhausted)));
    }

    [Fact]
    public void A_fallback_request_records_calls_fallback_latency_tokens_and_cost()
    {
        var row = new RequestRow { Status = RequestStatus.Succeeded, Chain = "default" };
        row.Attempts.Add(new AttemptRow { Provider = "gemini", Model = "gemini-2.5-pro", CallMade = true, Outcome = "error", ErrorClass = "server", Decision = "fell_back", LatencyMs = 120 });
        row.Attempts.Add(new AttemptRow { Provider = "openai", Model = "o3-mini", CallMade = true, Outcome = "ok", Decision = "answered", LatencyMs = 800, InputTokens = 10, OutputTokens = 5, CostUsd = 0.5m });
        row.Attempts.Add(new AttemptRow { Provider = "x", Model = "y", CallMade = false, Outcome = "skipped", Decision = "skipped" });

        Metrics.Record(row);

        var request = Assert.Single(_measured, m => m.Instrument == "worker.requests");
        Assert.Equal("succeeded", request.Tags["outcome"]);
        var calls = _measured.Where(m => m.Instrument == "worker.provider.calls").ToList();
        Assert.Equal(2, calls.Count);
        Assert.Equal(["server", "none"], calls.Select(c => c.Tags["error_class"]));
        var fallback = Assert.Single(_measured, m => m.Instrument == "worker.fallbacks");
        Assert.Equal("gemini", fallback.Tags["provider"]);
        Assert.Equal([120d, 800d], _measured.Where(m => m.Instrument == "worker.provider.call.duration").Select(m => m.Value));
        Assert.Equal(15, _measured.Where(m => m.Instrument == "worker.tokens").Sum(m => m.Value));
        Assert.Equal(0.5, Assert.Single(_measured, m => m.Instrument == "worker.cost").Value);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _services.Dispose();
    }
}
