using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Worker.Contracts;
using Worker.Hosting;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Simulator;
using Worker.Simulator.Calls;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Tenants;

/// <summary>
/// One tenant's burst does not take every slot: on a worker with 4 consumer slots, tenant A (limit 2,
/// <see cref="PipelineFixture.BurstingTenant"/>) sends a burst to a slow provider, then tenant B sends a few. With no
/// limit A's burst would fill all 4 slots, wave after wave, and B would start only after it. With the limit B runs
/// beside A's two, and each of A's requests, put back briefly while A is full, still ends in exactly one result with
/// exactly one call. The worker consumes a queue of its own, so the pipeline tests' queue never sees these requests.
/// </summary>
public sealed class TenantLimitTests : IAsyncLifetime
{
    private const string Queue = "it-tenant-requests";
    private const int Burst = 12;
    private const int Others = 3;
    private readonly NpgsqlDataSource _db = NpgsqlDataSource.Create(TestEnvironment.Postgres);
    private WebApplication _simulator = null!;
    private SimulatorState _sim = null!;
    private WebApplication _worker = null!;
    private TestProducer _producer = null!;

    public async Task InitializeAsync()
    {
        await AuditDatabase.MigrateAsync(TestEnvironment.Postgres);
        await RawAmqp.DeleteRequestQueuesAsync(Queue);
        _simulator = SimulatorApp.Build(["--urls", "http://127.0.0.1:0"]);
        await _simulator.StartAsync();
        _sim = _simulator.Services.GetRequiredService<SimulatorState>();
        var settings = PipelineFixture.WorkerSettings(_simulator.GetBaseAddress());
        settings["Messaging:QueueName"] = Queue;
        settings["Messaging:ConcurrencyLimit"] = "4";
        settings["Messaging:PrefetchCount"] = "4";
        _worker = WorkerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(settings));
        await _worker.StartAsync();
        await _worker.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
        _producer = await TestProducer.StartAsync("it-tenant-results");
    }

    [Fact]
    public async Task A_tenants_burst_runs_two_at_a_time_while_another_tenant_is_served_beside_it_and_each_request_answers_once()
    {
        // Slow enough that A's burst takes several seconds at two at a time.
        _sim.SetProfile("gemini", new FaultProfile { LatencyMs = 1000 });
        var burst = Enumerable.Range(0, Burst)
            .Select(i => TestProducer.NewRequest($"burst {i} {Guid.NewGuid():N}") with { Tenant = PipelineFixture.BurstingTenant }).ToList();
        var others = Enumerable.Range(0, Others)
            .Select(i => TestProducer.NewRequest($"other {i} {Guid.NewGuid():N}") with { Tenant = $"it-other-{Guid.NewGuid():N}"[..24] }).ToList();

        foreach (var request in burst)
            await _producer.SendAsync(Queue, request);
        foreach (var request in others)
            await _producer.SendAsync(Queue, request);

        // While A is full, its extra requests wait as tenant_limit deferrals (the message acknowledged, no slot held).
        var burstIds = burst.Select(r => r.RequestId).ToArray();
        await Eventually.ValueAsync(() => TenantLimitedAsync(burstIds), n => n > 0, TimeSpan.FromSeconds(30),
            "a request of the bursting tenant deferred as tenant_limit");

        var all = burst.Concat(others).Select(r => r.RequestId).ToList();
        Assert.Empty(await _producer.WaitForAllAsync(all, TimeSpan.FromSeconds(120)));

        // Exactly one outcome each, one provider call each: a put-back request was never called, never answered twice.
        Assert.All(all, id => Assert.Equal(1, _producer.ResultCount(id)));
        Assert.All(all, id => Assert.Equal(1, Assert.IsType<CompletionSucceeded>(_producer.Results(id).Single()).Attempts));
        Assert.All(burstIds, id => Assert.Empty(_producer.Delays(id)));
        Assert.Equal(Burst + Others, _sim.GetCounters("gemini").Total);

        var rows = new Dictionary<Guid, RequestRow>();
        foreach (var id in all)
            rows[id] = (await AuditDatabase.FindAsync(_db, id))!;
        Assert.All(rows.Values, r => Assert.Equal((RequestStatus.Succeeded, 1), (r.Status, r.AttemptCount)));
        Assert.Equal(0L, await LeftDeferredAsync(all));

        // Never more than A's limit of calls at once, by the worker's own record of each call.
        var burstCalls = burstIds.SelectMany(id => rows[id].Attempts).Where(a => a.CallMade).ToList();
        Assert.Equal(Burst, burstCalls.Count);
        Assert.InRange(MaxOverlap(burstCalls.Select(a => (a.StartedAt, a.EndedAt))), 1, 2);

        // B did not queue behind A's burst, although sent after all of it: by the time B's last call started, A had
        // started only its first waves (2 at a time). With no limit, 4 slots of A each wave: at least 8 before B.
        var lastOtherStart = others.Max(r => rows[r.RequestId].Attempts.Single(a => a.CallMade).StartedAt);
        var burstStartedBefore = burstCalls.Count(a => a.StartedAt < lastOtherStart);
        Assert.True(burstStartedBefore <= Burst / 2 - 1,
            $"{burstStartedBefore} of {Burst} burst calls started before the other tenant's last call: it waited behind the burst");
        var lastBurstEnd = burstCalls.Max(a => a.EndedAt);
        Assert.All(others, r => Assert.True(rows[r.RequestId].CompletedAt < lastBurstEnd));
    }

    /// <summary>The most intervals open at one instant; one that ends when another starts does not overlap it.</summary>
    private static int MaxOverlap(IEnumerable<(DateTimeOffset Start, DateTimeOffset End)> intervals)
    {
        var events = intervals.SelectMany(i => new[] { (At: i.Start, Delta: 1), (At: i.End, Delta: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Delta);
        int open = 0, max = 0;
        foreach (var (_, delta) in events)
            max = Math.Max(max, open += delta);
        return max;
    }

    private async Task<long> TenantLimitedAsync(Guid[] ids)
    {
        await using var command = _db.CreateCommand("SELECT count(*) FROM deferred_requests WHERE kind = 'tenant_limit' AND request_id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = ids });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<long> LeftDeferredAsync(IEnumerable<Guid> ids)
    {
        await using var command = _db.CreateCommand("SELECT count(*) FROM deferred_requests WHERE request_id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. ids] });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public async Task DisposeAsync()
    {
        await _producer.DisposeAsync();
        await _worker.StopAsync();
        await _worker.DisposeAsync();
        await _simulator.StopAsync();
        await _simulator.DisposeAsync();
        // Left bound to the request exchange, the queue would collect every request later tests publish.
        await RawAmqp.DeleteRequestQueuesAsync(Queue);
        await _db.DisposeAsync();
    }
}
