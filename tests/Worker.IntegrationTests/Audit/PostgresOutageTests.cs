using Npgsql;
using Worker.Audit;
using Worker.Contracts;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Audit;

/// <summary>
/// PostgreSQL goes away while requests are in flight and while new ones arrive. The worker keeps each chain outcome
/// in memory and retries its audit writes, so once the database is back every request has exactly one result, a
/// terminal row, and was paid for once.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class PostgresOutageTests(PipelineFixture fixture) : IAsyncLifetime
{
    private readonly PipelineFixture _f = fixture;
    private readonly NpgsqlDataSource _db = NpgsqlDataSource.Create(TestEnvironment.Postgres);

    public Task InitializeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Requests_in_flight_and_published_during_an_outage_each_get_one_result_and_a_terminal_row()
    {
        // Slow answers, so the first requests are between their two audit writes when PostgreSQL stops.
        _f.Sim.SetProfile("gemini", new FaultProfile { LatencyMs = 1500 });
        var inFlight = Enumerable.Range(0, 3).Select(i => TestProducer.NewRequest($"in flight {i}")).ToList();
        var duringOutage = Enumerable.Range(0, 3).Select(i => TestProducer.NewRequest($"during outage {i}")).ToList();

        await Bounded(async () =>
        {
            foreach (var request in inFlight)
            {
                await _f.Producer.PublishAsync(request);
            }

            await WaitForInProgressAsync(inFlight);
            await PostgresService.StopAsync();
            try
            {
                foreach (var request in duringOutage)
                {
                    await _f.Producer.PublishAsync(request);
                }

                // The outage's length is the fault injected, not a wait for an event: long enough for the in-flight calls
                // (1.5 s each) to end, and their outcome writes to fail, while the database is down.
                await Task.Delay(TimeSpan.FromSeconds(4));
            }
            finally
            {
                await PostgresService.StartAsync();
            }

            foreach (var request in inFlight.Concat(duringOutage))
            {
                Assert.IsType<CompletionSucceeded>(await _f.Producer.WaitForResultAsync(request.RequestId));
            }
        });

        // The restart broke this test's idle connections too. A duplicate result is published before the delivery that
        // sends it is acknowledged: once every delivery is consumed and every published result received, none can follow.
        _db.Clear();
        var all = inFlight.Concat(duringOutage).Select(r => r.RequestId).ToList();
        await Eventually.TrueAsync(() => Task.FromResult(_f.Traffic.Settled(all, _f.Producer)), TestEnvironment.ResultTimeout,
            "every request's delivery to be consumed and every result published for them to be received");
        foreach (var request in inFlight.Concat(duringOutage))
        {
            Assert.Equal(1, _f.Producer.ResultCount(request.RequestId));
            var row = await AuditDatabase.FindAsync(_db, request.RequestId);
            Assert.NotNull(row);
            Assert.Equal(RequestStatus.Succeeded, row.Status);
            Assert.Equal(1, row.AttemptCount);
            Assert.Single(row.Attempts);
        }

        // Paid once each: one gemini call per request, none repeated because of the database.
        Assert.Equal(6, _f.Sim.GetCounters("gemini").Total);
    }

    private async Task WaitForInProgressAsync(IEnumerable<CompletionRequested> requests)
    {
        foreach (var request in requests)
        {
            await Eventually.TrueAsync(async () => (await AuditDatabase.FindAsync(_db, request.RequestId))?.Status == RequestStatus.InProgress,
                TimeSpan.FromSeconds(30), $"request {request.RequestId} to be in progress");
        }
    }

    /// <summary>The whole scenario within three minutes; PostgreSQL is restarted whatever happens.</summary>
    private static async Task Bounded(Func<Task> scenario)
    {
        try
        {
            await scenario().WaitAsync(TimeSpan.FromMinutes(3));
        }
        finally
        {
            await PostgresService.StartAsync();
        }
    }

    public async Task DisposeAsync()
    {
        _f.Sim.Clear();
        await _db.DisposeAsync();
    }
}
