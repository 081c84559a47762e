using Worker.Audit;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Messaging;
using Worker.Simulator.Faults;
using Xunit.Abstractions;

namespace Worker.IntegrationTests.Faults;

/// <summary>
/// The services the worker depends on go away under load and come back: RabbitMQ restarted twice, PostgreSQL stopped for 3 minutes.
/// The worker process recovers by itself; every request published before (or, for PostgreSQL, during) the outage ends
/// with exactly one recorded outcome and a result. The services are restored whatever happens.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class ServiceOutageTests(FaultFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly FaultFixture _f = fixture;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        _f.Sim.Clear();
        await _f.CleanSlateAsync();
    }

    [Fact]
    public async Task RabbitMQ_restarted_twice_under_load_the_worker_reconnects_by_itself_each_time_and_pays_each_request_once()
    {
        _f.Sim.SetProfile("gemini", new FaultProfile { LatencyMs = 500 });
        var environment = _f.WorkerEnvironment();
        environment["Messaging:ConcurrencyLimit"] = "100";
        environment["Messaging:PrefetchCount"] = "100";
        // How the bus loses and regains its connection, for a failure to be read.
        environment["Logging:LogLevel:MassTransit"] = "Information";
        var rounds = Enumerable.Range(1, 2)
            .Select(round => Enumerable.Range(0, 300).Select(i => TestProducer.NewRequest($"broker restart {_run} round {round} #{i}")).ToList())
            .ToList();
        var requests = rounds.SelectMany(r => r).ToList();
        var ids = requests.Select(r => r.RequestId).ToList();
        WorkerProcess? worker = null;
        try
        {
            await Bounded(TimeSpan.FromMinutes(6), async () =>
            {
                worker = await WorkerProcess.StartAsync(environment);
                foreach (var (round, number) in rounds.Select((r, i) => (r, i + 1)))
                {
                    var roundIds = round.Select(r => r.RequestId).ToList();
                    await Task.WhenAll(round.Select(_f.Producer.PublishAsync));
                    // Mid-load: some answered, most still queued or in flight.
                    await FaultFixture.WaitUntilAsync(() => Task.FromResult(_f.Producer.Answered.Count(roundIds.Contains) >= 50), TimeSpan.FromMinutes(2),
                        $"50 results before restart {number}");

                    await RabbitMqService.RestartAsync();

                    var unanswered = await _f.Producer.WaitForAllAsync(roundIds, TimeSpan.FromMinutes(2));
                    if (unanswered.Count > 0)
                        Assert.Fail($"after restart {number}, {unanswered.Count} request(s) without a result; worker:\n{worker.Tail()}");
                    Assert.False(worker.HasExited);
                }

                Assert.Empty(await _f.WaitForTerminalAsync(ids, TimeSpan.FromSeconds(30)));
                var outcomes = await _f.OutcomesAsync(ids);
                Assert.All(ids, id => Assert.Equal((RequestStatus.Succeeded, 1, 1), outcomes[id]));
                // A result published twice (the redelivery of a message whose first delivery stored the outcome) is the same message.
                Assert.All(ids, id => Assert.All(_f.Producer.MessageIds(id), m => Assert.Equal(Results.ResultMessageId(id), m)));
                // No second call: a chain running when the connection dropped goes on and stores its outcome, and the redelivery
                // re-publishes it.
                var calls = _f.Sim.CallsByPrompt("gemini");
                Assert.All(requests, r => Assert.Equal(1, calls.GetValueOrDefault(r.Messages[^1].Content)?.Total ?? 0));
                Assert.Equal(0, await _f.ErrorQueueDeadLettersAsync(ids));
                output.WriteLine($"{ids.Count(id => _f.Producer.ResultCount(id) > 1)} request(s) got their (identical) result more than once");
            });
        }
        finally
        {
            await RabbitMqService.EnsureRunningAsync();
            if (worker is not null)
                await worker.DisposeAsync();
        }
    }

    [Fact]
    public async Task PostgreSQL_down_for_3_minutes_with_calls_in_flight_every_outcome_is_kept_until_stored_and_no_call_is_paid_twice()
    {
        _f.Sim.SetProfile("gemini", new FaultProfile { LatencyMs = 1000 });
        var environment = _f.WorkerEnvironment();
        // The outage lasts many times the reporting bound: the writes must outlive it, not give up at it.
        environment["Audit:WriteRetryFor"] = "00:00:10";
        environment["Messaging:ConcurrencyLimit"] = "100";
        environment["Messaging:PrefetchCount"] = "100";
        var before = Enumerable.Range(0, 300).Select(i => TestProducer.NewRequest($"postgres outage {_run} before #{i}")).ToList();
        var during = Enumerable.Range(0, 100).Select(i => TestProducer.NewRequest($"postgres outage {_run} during #{i}")).ToList();
        var requests = before.Concat(during).ToList();
        var ids = requests.Select(r => r.RequestId).ToList();
        WorkerProcess? worker = null;
        try
        {
            await Bounded(TimeSpan.FromMinutes(7), async () =>
            {
                worker = await WorkerProcess.StartAsync(environment);
                await Task.WhenAll(before.Select(_f.Producer.PublishAsync));
                await FaultFixture.WaitUntilAsync(() => Task.FromResult(_f.Producer.Answered.Count(ids.Contains) >= 80), TimeSpan.FromSeconds(60),
                    "80 results");

                var inFlightAtStop = _f.Sim.InFlight;
                await PostgresService.StopAsync();
                try
                {
                    await Task.WhenAll(during.Select(_f.Producer.PublishAsync));
                    // The outage's length is the scenario, not a wait for something to happen.
                    await Task.Delay(TimeSpan.FromMinutes(3));
                    Assert.True(inFlightAtStop > 0, "no call was in flight when PostgreSQL stopped");
                    Assert.False(worker.HasExited);
                }
                finally
                {
                    await PostgresService.StartAsync();
                }

                // The restart broke this process's pooled connections as well.
                _f.Database.Clear();
                var unanswered = await _f.Producer.WaitForAllAsync(ids, TimeSpan.FromMinutes(2));
                if (unanswered.Count > 0)
                    Assert.Fail($"{unanswered.Count} request(s) without a result; worker:\n{worker.Tail()}");
                Assert.Empty(await _f.WaitForTerminalAsync(ids, TimeSpan.FromSeconds(30)));

                var outcomes = await _f.OutcomesAsync(ids);
                Assert.All(ids, id => Assert.Equal((RequestStatus.Succeeded, 1, 1), outcomes[id]));
                // The claim is written before any call and the outcome is kept in memory until it is written: a database
                // outage never makes the worker call a provider again.
                var calls = _f.Sim.CallsByPrompt("gemini");
                Assert.All(requests, r => Assert.Equal(1, calls[r.Messages[^1].Content].Succeeded));
                Assert.All(ids, id => Assert.All(_f.Producer.MessageIds(id), m => Assert.Equal(Results.ResultMessageId(id), m)));
                Assert.Equal(0, await _f.ErrorQueueDeadLettersAsync(ids));
            });
        }
        finally
        {
            await PostgresService.StartAsync();
            if (worker is not null)
                await worker.DisposeAsync();
        }
    }

    private static async Task Bounded(TimeSpan limit, Func<Task> scenario) => await scenario().WaitAsync(limit);

    public Task DisposeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }
}
