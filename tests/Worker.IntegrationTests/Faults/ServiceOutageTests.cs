using Worker.Contracts;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Requests;
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
                Assert.All(ids, id => Assert.All(_f.Producer.MessageIds(id), m => Assert.Equal(RequestResult.MessageId(id), m)));
                // No second call: a chain running when the connection dropped goes on and stores its outcome, and the redelivery
                // re-publishes it.
                var calls = _f.Sim.CallsByPrompt("gemini");
                Assert.All(requests, r => Assert.Equal(1, calls.GetValueOrDefault(r.Messages[^1].Content!)?.Total ?? 0));
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
        var environment = _f.WorkerEnvironment();
        // The outage lasts many times the reporting bound: the writes must outlive it, not give up at it.
        environment["Audit:WriteRetryFor"] = "00:00:10";
        environment["Messaging:ConcurrencyLimit"] = "100";
        environment["Messaging:PrefetchCount"] = "100";
        var answered = Enumerable.Range(0, 100).Select(i => TestProducer.NewRequest($"postgres outage {_run} answered before #{i}")).ToList();
        var held = Enumerable.Range(0, 100).Select(i => TestProducer.NewRequest($"postgres outage {_run} in flight #{i}")).ToList();
        var during = Enumerable.Range(0, 100).Select(i => TestProducer.NewRequest($"postgres outage {_run} during #{i}")).ToList();
        var requests = answered.Concat(held).Concat(during).ToList();
        var ids = requests.Select(r => r.RequestId).ToList();
        WorkerProcess? worker = null;
        try
        {
            await Bounded(TimeSpan.FromMinutes(8), async () =>
            {
                worker = await WorkerProcess.StartAsync(environment);
                await Task.WhenAll(answered.Select(_f.Producer.PublishAsync));
                Assert.Empty(await _f.Producer.WaitForAllAsync(answered.Select(r => r.RequestId).ToList(), TimeSpan.FromMinutes(2)));

                // A hundred calls in flight (claimed, held by the provider) when PostgreSQL stops; they are answered during
                // the outage, so their outcomes can live only in the worker's memory until it is back.
                _f.Sim.SetProfile("gemini", new FaultProfile { Hold = true });
                await Task.WhenAll(held.Select(_f.Producer.PublishAsync));
                await FaultFixture.WaitUntilAsync(() => Task.FromResult(_f.Sim.InFlight >= held.Count), TimeSpan.FromMinutes(2), "100 calls in flight");
                await PostgresService.StopAsync();
                try
                {
                    _f.Sim.SetProfile("gemini", new FaultProfile());
                    await Task.WhenAll(during.Select(_f.Producer.PublishAsync));
                    await FaultFixture.WaitUntilAsync(() => Task.FromResult(_f.Sim.InFlight == 0), TimeSpan.FromMinutes(1), "the held calls answered");
                    // The outage lasts until every held request's outcome write has been failing for three minutes (18 times
                    // Audit:WriteRetryFor), as the worker's retry log says: a condition on the worker, not on this machine's speed.
                    var failing = worker;
                    await Eventually.TrueAsync(() => Task.FromResult(OutcomeWritesFailingFor(failing, held) >= TimeSpan.FromMinutes(3)),
                        TimeSpan.FromMinutes(5), "every held outcome's write to have been retried for 3 minutes");
                    Assert.False(worker.HasExited);
                    Assert.Equal(0, held.Count(r => _f.Producer.ResultCount(r.RequestId) > 0));
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
                Assert.All(requests, r => Assert.Equal(1, calls[r.Messages[^1].Content!].Succeeded));
                Assert.All(ids, id => Assert.All(_f.Producer.MessageIds(id), m => Assert.Equal(RequestResult.MessageId(id), m)));
                Assert.Equal(0, await _f.ErrorQueueDeadLettersAsync(ids));
            });
        }
        finally
        {
            await PostgresService.StartAsync();
            // The restart broke the pooled connections of this process too: the next test must not inherit them.
            _f.Database.Clear();
            if (worker is not null)
                await worker.DisposeAsync();
        }
    }

    private static Task Bounded(TimeSpan limit, Func<Task> scenario) => WorkerProcessScope.RunAsync(limit, scenario);

    public Task DisposeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }

    /// <summary>
    /// How long the outcome writes of <paramref name="requests"/> have all been failing, from the worker's retry log
    /// ("Request {id}: audit outcome write failed (...); retrying in N ms (M ms so far)"): the shortest of their longest
    /// "so far", zero while one has not been retried yet.
    /// </summary>
    private static TimeSpan OutcomeWritesFailingFor(WorkerProcess worker, IEnumerable<CompletionRequested> requests)
    {
        var failingFor = new Dictionary<Guid, long>();
        foreach (var line in worker.Output)
        {
            var match = OutcomeRetry.Match(line);
            if (match.Success)
            {
                var id = Guid.Parse(match.Groups[1].Value);
                var soFar = long.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                failingFor[id] = Math.Max(soFar, failingFor.GetValueOrDefault(id));
            }
        }

        return TimeSpan.FromMilliseconds(requests.Min(r => failingFor.GetValueOrDefault(r.RequestId)));
    }

    private static readonly System.Text.RegularExpressions.Regex OutcomeRetry = new(
        @"Request ([0-9a-f-]{36}): audit outcome write failed .*\((\d+) ms so far\)", System.Text.RegularExpressions.RegexOptions.Compiled);
}
