using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Worker.Contracts;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Metrics;
using Worker.Persistence;

namespace Worker.IntegrationTests.Tenants;

/// <summary>
/// A request whose deadline has passed when it is dequeued is answered deadline_exceeded with no call, and counted:
/// on the worker's meter (<c>worker.deadline.rejections</c>) and in the audit trail's figures (GET /metrics/deadlines).
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class DeadlineRejectionTests(PipelineFixture fixture) : IAsyncLifetime
{
    private readonly PipelineFixture _f = fixture;
    private readonly NpgsqlDataSource _db = NpgsqlDataSource.Create(TestEnvironment.Postgres);
    private readonly MeterListener _listener = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<(long Value, Dictionary<string, object?> Tags)> _rejections = new();

    public Task InitializeAsync()
    {
        _f.Sim.Clear();
        var meters = _f.Worker.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // This worker's meter only, and only the counter under test.
            if (instrument.Meter.Scope == meters && instrument.Name == "worker.deadline.rejections")
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((_, v, tags, _) => _rejections.Enqueue((v, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        _listener.Start();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_request_dequeued_after_its_deadline_is_answered_without_a_call_and_counted_on_the_meter_and_in_the_audit_figures()
    {
        var tenant = $"it-deadline-{Guid.NewGuid():N}"[..28];
        var late = TestProducer.NewRequest($"too late {Guid.NewGuid():N}", chain: "fast") with
        {
            Tenant = tenant,
            Deadline = DateTimeOffset.UtcNow.AddSeconds(-5),
        };
        var onTime = TestProducer.NewRequest($"on time {Guid.NewGuid():N}", chain: "fast") with
        {
            Tenant = tenant,
            Deadline = DateTimeOffset.UtcNow.AddMinutes(5),
        };

        var failed = await _f.Producer.RequestAsync<CompletionFailed>(late);
        await _f.Producer.RequestAsync<CompletionSucceeded>(onTime);

        Assert.Equal((FailureReasons.DeadlineExceeded, 0), (failed.Reason, failed.Attempts));
        Assert.Equal(1, _f.Sim.GetCounters().Total);
        var row = (await AuditDatabase.FindAsync(_db, late.RequestId))!;
        Assert.Equal((FailureReasons.DeadlineExceeded, 0), (row.FailureReason, row.AttemptCount));

        var counted = Assert.Single(_rejections);
        Assert.Equal((1L, "fast", WorkerMetrics.DeadlineExpired), (counted.Value, counted.Tags["chain"], counted.Tags["reason"]));

        var figures = await _f.Worker.Services.GetRequiredService<DeadlineRejectionsQuery>().RunAsync(DateTimeOffset.UtcNow.AddHours(-1), CancellationToken.None);
        Assert.Equal(new DeadlineRejections("fast", tenant, WorkerMetrics.DeadlineExpired, 1), Assert.Single(figures, g => g.Tenant == tenant));
    }

    public async Task DisposeAsync()
    {
        _listener.Dispose();
        _f.Sim.Clear();
        await _db.DisposeAsync();
    }
}
