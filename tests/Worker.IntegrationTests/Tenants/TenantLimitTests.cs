using Npgsql;
using Worker.Contracts;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Tenants;

/// <summary>
/// One tenant's burst does not take every slot: tenant A (limit 2, <see cref="PipelineFixture.BurstingTenant"/>) sends
/// a burst to a slow provider, then tenant B sends a few. B's requests run beside A's two, not after A's whole burst,
/// and each of A's requests, put back briefly while A is full, still ends in exactly one result with exactly one call.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class TenantLimitTests(PipelineFixture fixture) : IAsyncLifetime
{
    private const int Burst = 12;
    private const int Others = 3;
    private readonly PipelineFixture _f = fixture;
    private readonly NpgsqlDataSource _db = NpgsqlDataSource.Create(TestEnvironment.Postgres);

    public Task InitializeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_tenants_burst_runs_two_at_a_time_while_another_tenant_is_served_beside_it_and_each_request_answers_once()
    {
        // Slow enough that A's burst takes several seconds at two at a time.
        _f.Sim.SetProfile("gemini", new FaultProfile { LatencyMs = 1000 });
        var burst = Enumerable.Range(0, Burst)
            .Select(i => TestProducer.NewRequest($"burst {i} {Guid.NewGuid():N}") with { Tenant = PipelineFixture.BurstingTenant }).ToList();
        var others = Enumerable.Range(0, Others)
            .Select(i => TestProducer.NewRequest($"other {i} {Guid.NewGuid():N}") with { Tenant = $"it-other-{Guid.NewGuid():N}"[..24] }).ToList();

        foreach (var request in burst)
            await _f.Producer.PublishAsync(request);
        foreach (var request in others)
            await _f.Producer.PublishAsync(request);

        // While A is full, its extra requests wait as tenant_limit deferrals (the message acknowledged, no slot held).
        var burstIds = burst.Select(r => r.RequestId).ToArray();
        await Eventually.ValueAsync(() => TenantLimitedAsync(burstIds), n => n > 0, TimeSpan.FromSeconds(30),
            "a request of the bursting tenant deferred as tenant_limit");

        var all = burst.Concat(others).Select(r => r.RequestId).ToList();
        Assert.Empty(await _f.Producer.WaitForAllAsync(all, TimeSpan.FromSeconds(120)));

        // Exactly one outcome each, one provider call each: a put-back request was never called, never answered twice.
        Assert.All(all, id => Assert.Equal(1, _f.Producer.ResultCount(id)));
        Assert.All(all, id => Assert.Equal(1, Assert.IsType<CompletionSucceeded>(_f.Producer.Results(id).Single()).Attempts));
        Assert.All(burstIds, id => Assert.Empty(_f.Producer.Delays(id)));
        Assert.Equal(Burst + Others, _f.Sim.GetCounters("gemini").Total);

        var rows = new Dictionary<Guid, RequestRow>();
        foreach (var id in all)
            rows[id] = (await AuditDatabase.FindAsync(_db, id))!;
        Assert.All(rows.Values, r => Assert.Equal((RequestStatus.Succeeded, 1), (r.Status, r.AttemptCount)));
        Assert.Equal(0L, await LeftDeferredAsync(all));

        // Never more than A's limit of calls at once, by the worker's own record of each call.
        var burstCalls = burstIds.SelectMany(id => rows[id].Attempts).Where(a => a.CallMade).ToList();
        Assert.Equal(Burst, burstCalls.Count);
        Assert.InRange(MaxOverlap(burstCalls.Select(a => (a.StartedAt, a.EndedAt))), 1, 2);

        // B did not queue behind A's burst: most of A's requests finished after the last of B's.
        var lastOther = others.Max(r => rows[r.RequestId].CompletedAt!.Value);
        var burstAfter = burstIds.Count(id => rows[id].CompletedAt > lastOther);
        Assert.True(burstAfter >= Burst / 2, $"only {burstAfter} of {Burst} burst requests finished after the other tenant's last one");
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
        _f.Sim.Clear();
        await _db.DisposeAsync();
    }
}
