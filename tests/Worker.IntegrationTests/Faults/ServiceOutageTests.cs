using Worker.Audit;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Messaging;
using Worker.Simulator.Faults;
using Xunit.Abstractions;

namespace Worker.IntegrationTests.Faults;

/// <summary>
/// The services the worker depends on go away under load and come back: RabbitMQ restarted, PostgreSQL stopped for 20 s.
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
    public async Task RabbitMQ_restarted_mid_load_the_worker_reconnects_by_itself_and_nothing_is_lost()
    {
        _f.Sim.SetProfile("gemini", new FaultProfile { LatencyMs = 500 });
        var environment = _f.WorkerEnvironment();
        environment["Messaging:ConcurrencyLimit"] = "100";
        environment["Messaging:PrefetchCount"] = "100";
        // How the bus loses and regains its connection, for a failure to be read.
        environment["Logging:LogLevel:MassTransit"] = "Information";
        // The watchdog for MassTransit's reconnection race (see BusWatchdog), sooner than in production.
        environment["Messaging:BusRecoveryAfter"] = "00:00:20";
        var requests = Enumerable.Range(0, 600).Select(i => TestProducer.NewRequest($"broker restart {_run} #{i}")).ToList();
        var ids = requests.Select(r => r.RequestId).ToList();
        WorkerProcess? worker = null;
        try
        {
            await Bounded(TimeSpan.FromMinutes(4), async () =>
            {
                worker = await WorkerProcess.StartAsync(environment);
                await Task.WhenAll(requests.Select(_f.Producer.PublishAsync));
                await FaultFixture.WaitUntilAsync(() => Task.FromResult(_f.Producer.Answered.Count(ids.Contains) >= 100), TimeSpan.FromSeconds(60),
                    "100 results");

                var answeredBefore = _f.Producer.Answered.Count(ids.Contains);
                await RabbitMqService.RestartAsync();

                var missing = await _f.WaitForTerminalAsync(ids, TimeSpan.FromMinutes(2));
                Assert.True(missing.Count == 0, $"{missing.Count} request(s) without an outcome; worker:\n{worker.Tail()}");
                var unanswered = await _f.Producer.WaitForAllAsync(ids, TimeSpan.FromMinutes(1));
                Assert.True(unanswered.Count == 0, $"{unanswered.Count} request(s) without a result; worker:\n{worker.Tail()}");
                Assert.False(worker.HasExited);

                var outcomes = await _f.OutcomesAsync(ids);
                Assert.All(ids, id => Assert.Equal((RequestStatus.Succeeded, 1), (outcomes[id].Status, outcomes[id].Answered)));
                Assert.All(ids, id => Assert.All(_f.Producer.MessageIds(id), m => Assert.Equal(Results.ResultMessageId(id), m)));
                var calls = _f.Sim.CallsByPrompt("gemini");
                var paid = requests.Select(r => calls.GetValueOrDefault(r.Messages[^1].Content)?.Succeeded ?? 0).ToList();
                // A call cut off with its consumer when the connection dropped may be paid once more, never more than that.
                Assert.All(paid, n => Assert.InRange(n, 1, 2));
                Assert.Equal(0, await _f.ErrorQueueDeadLettersAsync(ids));
                output.WriteLine($"{answeredBefore} answered before the restart; {paid.Count(n => n == 2)} call(s) paid twice; " +
                    $"{ids.Count(id => _f.Producer.ResultCount(id) > 1)} request(s) got their result more than once");
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
    public async Task PostgreSQL_stopped_for_20_seconds_mid_load_processing_resumes_by_itself_and_no_call_is_paid_twice()
    {
        _f.Sim.SetProfile("gemini", new FaultProfile { LatencyMs = 1000 });
        var environment = _f.WorkerEnvironment();
        environment["Messaging:ConcurrencyLimit"] = "100";
        environment["Messaging:PrefetchCount"] = "100";
        var before = Enumerable.Range(0, 300).Select(i => TestProducer.NewRequest($"postgres outage {_run} before #{i}")).ToList();
        var during = Enumerable.Range(0, 100).Select(i => TestProducer.NewRequest($"postgres outage {_run} during #{i}")).ToList();
        var requests = before.Concat(during).ToList();
        var ids = requests.Select(r => r.RequestId).ToList();
        WorkerProcess? worker = null;
        try
        {
            await Bounded(TimeSpan.FromMinutes(4), async () =>
            {
                worker = await WorkerProcess.StartAsync(environment);
                await Task.WhenAll(before.Select(_f.Producer.PublishAsync));
                await FaultFixture.WaitUntilAsync(() => Task.FromResult(_f.Producer.Answered.Count(ids.Contains) >= 80), TimeSpan.FromSeconds(60),
                    "80 results");

                await PostgresService.StopAsync();
                try
                {
                    await Task.WhenAll(during.Select(_f.Producer.PublishAsync));
                    await Task.Delay(TimeSpan.FromSeconds(20));
                }
                finally
                {
                    await PostgresService.StartAsync();
                }

                // The restart broke this process's pooled connections as well.
                _f.Database.Clear();
                var unanswered = await _f.Producer.WaitForAllAsync(ids, TimeSpan.FromMinutes(2));
                Assert.True(unanswered.Count == 0, $"{unanswered.Count} request(s) without a result; worker:\n{worker.Tail()}");
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
