using Npgsql;
using Worker.Contracts;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Requests;
using Worker.Simulator.Faults;
using Xunit.Abstractions;

namespace Worker.IntegrationTests.Faults;

/// <summary>
/// The worker process dies or is stopped while it works: SIGKILL with a thousand requests in flight, SIGTERM with calls
/// in flight (finished within the stop timeout, or handed back to the broker), and a restart while a request is
/// deferred. Every request ends with exactly one recorded outcome; nothing that was answered is paid for again.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class ProcessFaultTests(FaultFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly FaultFixture _f = fixture;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        _f.Sim.Clear();
        await _f.CleanSlateAsync();
    }

    [Fact]
    public async Task Killed_with_a_thousand_requests_in_flight_every_request_ends_with_one_outcome_and_no_answered_request_is_paid_twice()
    {
        // The primary holds every call until the test lets go, so a thousand calls build up in flight however fast the
        // machine is; requests on a fast chain are mixed in, so that many are finished (some acknowledged, some only just
        // committed) when the process dies.
        _f.Sim.SetProfile("gemini", new FaultProfile { Hold = true });
        var environment = _f.WorkerEnvironment();
        environment["Messaging:ConcurrencyLimit"] = "1000";
        environment["Messaging:PrefetchCount"] = "1000";
        // The killed instance's claims lapse after this; the restarted one takes its requests over then.
        environment["Messaging:ClaimLease"] = "00:00:06";
        environment["Messaging:ClaimRenewInterval"] = "00:00:02";
        environment["Chains:fast:0:Provider"] = "openai";
        environment["Chains:fast:0:Model"] = "gpt-4o-mini";
        var requests = Enumerable.Range(0, 1800)
            .Select(i => i % 3 == 0 ? TestProducer.NewRequest($"kill {_run} fast #{i}", "fast") : TestProducer.NewRequest($"kill {_run} slow #{i}"))
            .ToList();
        var ids = requests.Select(r => r.RequestId).ToList();
        WorkerProcess? first = null, second = null;
        try
        {
            await Bounded(TimeSpan.FromMinutes(8), async () =>
            {
                first = await WorkerProcess.StartAsync(environment);
                await Task.WhenAll(requests.Select(_f.Producer.PublishAsync));
                await FaultFixture.WaitUntilAsync(() => Task.FromResult(_f.Sim.InFlight >= 1000), TimeSpan.FromMinutes(4), "1,000 calls in flight");
                var inFlight = _f.Sim.InFlight;
                await first.KillAsync();
                // Lets the held calls go (their client is gone) and answers the restarted worker's calls after a short delay.
                _f.Sim.SetProfile("gemini", new FaultProfile { LatencyMs = 200 });

                // What was committed before the kill is done for good: those requests must not reach a provider again.
                var finishedBefore = (await _f.TerminalAsync(ids)).Keys.ToHashSet();
                second = await WorkerProcess.StartAsync(environment);
                var missing = await _f.WaitForTerminalAsync(ids, TimeSpan.FromMinutes(2));
                if (missing.Count > 0)
                    Assert.Fail($"{missing.Count} request(s) without an outcome; worker:\n{second.Tail()}");
                Assert.Empty(await _f.Producer.WaitForAllAsync(ids, TimeSpan.FromSeconds(60)));

                Assert.True(inFlight >= 1000, $"only {inFlight} calls were in flight at the kill");
                var outcomes = await _f.OutcomesAsync(ids);
                Assert.All(ids, id => Assert.Equal((RequestStatus.Succeeded, 1), (outcomes[id].Status, outcomes[id].Answered)));
                // Redeliveries may add results, but every result of a request is the same message.
                Assert.All(ids, id => Assert.All(_f.Producer.MessageIds(id), m => Assert.Equal(RequestResult.MessageId(id), m)));

                var calls = _f.Sim.CallsByPrompt();
                var byRequest = requests.ToDictionary(r => r.RequestId, r => calls.GetValueOrDefault(r.Messages[^1].Content!)?.Succeeded ?? 0);
                Assert.True(finishedBefore.Count >= 100, $"only {finishedBefore.Count} request(s) had finished at the kill");
                Assert.All(finishedBefore, id => Assert.Equal(1, byRequest[id]));
                // A call in flight at the kill is paid once more (it was cut off unanswered), never more than that.
                Assert.All(ids, id => Assert.InRange(byRequest[id], 1, 2));
                // Exactly one answered attempt row per request, and every call made is an attempt row or was cut off by the kill.
                Assert.Equal(ids.Count, outcomes.Values.Sum(o => o.Answered));
                Assert.InRange(byRequest.Values.Sum(), ids.Count, ids.Count + inFlight);
                output.WriteLine($"{inFlight} calls in flight at the kill, {finishedBefore.Count} requests finished before it; " +
                    $"{byRequest.Values.Count(c => c == 2)} in-flight call(s) paid twice; results per request: max {ids.Max(_f.Producer.ResultCount)}");
                Assert.Equal(0, await _f.ErrorQueueDeadLettersAsync(ids));
            });
        }
        finally
        {
            await DisposeAsync(first, second);
        }
    }

    [Fact]
    public async Task Sigterm_lets_calls_in_flight_finish_within_the_stop_timeout_and_nothing_goes_to_the_error_queue()
    {
        // Held until the worker is stopping, so every call is in flight at the SIGTERM whatever the machine's speed.
        _f.Sim.SetProfile("gemini", new FaultProfile { Hold = true });
        var environment = _f.WorkerEnvironment();
        environment["Messaging:StopTimeout"] = "00:00:30";
        var requests = Enumerable.Range(0, 40).Select(i => TestProducer.NewRequest($"sigterm finish {_run} #{i}")).ToList();
        var ids = requests.Select(r => r.RequestId).ToList();
        WorkerProcess? worker = null;
        try
        {
            await Bounded(TimeSpan.FromMinutes(4), async () =>
            {
                worker = await WorkerProcess.StartAsync(environment);
                await Task.WhenAll(requests.Select(_f.Producer.PublishAsync));
                await FaultFixture.WaitUntilAsync(() => Task.FromResult(_f.Sim.InFlight >= ids.Count), TimeSpan.FromMinutes(2), "40 calls in flight");

                await worker.SignalTerminateAsync();
                await FaultFixture.WaitUntilAsync(() => Task.FromResult(worker.Output.Any(l => l.Contains("Application is shutting down", StringComparison.Ordinal))),
                    TimeSpan.FromSeconds(30), "the worker stopping");
                Assert.False(worker.HasExited);
                _f.Sim.SetProfile("gemini", new FaultProfile());
                await worker.WaitForExitAsync(TimeSpan.FromSeconds(60));

                Assert.Equal(0, worker.ExitCode);
                // Everything that was delivered finished before the process exited: outcomes stored, results published.
                var terminal = await _f.TerminalAsync(ids);
                Assert.Equal(ids.Count, terminal.Count);
                Assert.Empty(await _f.Producer.WaitForAllAsync(ids, TimeSpan.FromSeconds(10)));
                Assert.Equal(0, await _f.ErrorQueueDeadLettersAsync(ids));
                Assert.Equal(ids.Count, _f.Sim.GetCounters("gemini").Total);
            });
        }
        finally
        {
            await DisposeAsync(worker);
        }
    }

    [Fact]
    public async Task Sigterm_past_the_stop_timeout_hands_calls_back_to_the_broker_not_to_the_error_queue_and_they_run_again_at_once()
    {
        // Calls that outlive the stop timeout: they are cancelled, their claims released, their messages requeued.
        _f.Sim.SetProfile("gemini", new FaultProfile { Hold = true });
        var environment = _f.WorkerEnvironment();
        environment["Messaging:StopTimeout"] = "00:00:02";
        // Far longer than the test may wait: a claim that was not released would hold its request past the end.
        environment["Messaging:ClaimLease"] = "00:10:00";
        environment["Providers:gemini:Timeout"] = "00:02:00";
        var requests = Enumerable.Range(0, 20).Select(i => TestProducer.NewRequest($"sigterm requeue {_run} #{i}")).ToList();
        var ids = requests.Select(r => r.RequestId).ToList();
        WorkerProcess? first = null, second = null;
        try
        {
            await Bounded(TimeSpan.FromMinutes(5), async () =>
            {
                first = await WorkerProcess.StartAsync(environment);
                await Task.WhenAll(requests.Select(_f.Producer.PublishAsync));
                await FaultFixture.WaitUntilAsync(() => Task.FromResult(_f.Sim.InFlight >= 20), TimeSpan.FromMinutes(2), "20 calls in flight");

                await first.TerminateAsync(TimeSpan.FromSeconds(60));

                Assert.Equal(0, first.ExitCode);
                Assert.Empty(await _f.TerminalAsync(ids));
                Assert.Equal(0, await _f.ErrorQueueDeadLettersAsync(ids));
                Assert.Equal(0, await ClaimedAsync(ids));

                // Back from the broker, and not held by a claim: answered now, not after the ten-minute lease.
                _f.Sim.SetProfile("gemini", new FaultProfile());
                second = await WorkerProcess.StartAsync(environment);
                Assert.Empty(await _f.Producer.WaitForAllAsync(ids, TimeSpan.FromMinutes(2)));
                var outcomes = await _f.OutcomesAsync(ids);
                Assert.All(ids, id => Assert.Equal((RequestStatus.Succeeded, 1), (outcomes[id].Status, outcomes[id].Answered)));
                Assert.Equal(0, await _f.ErrorQueueDeadLettersAsync(ids));
            });
        }
        finally
        {
            await DisposeAsync(first, second);
        }
    }

    [Fact]
    public async Task A_deferred_request_survives_a_worker_kill_and_resumes_where_it_stopped()
    {
        _f.Sim.SetProfile("gemini", new FaultProfile { Script = ["429"], RetryAfterSeconds = 8 });
        var request = TestProducer.NewRequest($"deferred across a restart {_run}");
        WorkerProcess? first = null, second = null;
        try
        {
            await Bounded(TimeSpan.FromMinutes(2), async () =>
            {
                first = await WorkerProcess.StartAsync(_f.WorkerEnvironment());
                await _f.Producer.PublishAsync(request);
                await FaultFixture.WaitUntilAsync(async () => await StatusAsync(request.RequestId) == RequestStatus.Deferred,
                    TimeSpan.FromSeconds(30), "the deferral");
                await first.KillAsync();

                // The wait lives in PostgreSQL, not in the dead process: a new one resumes it.
                second = await WorkerProcess.StartAsync(_f.WorkerEnvironment());
                var result = Assert.IsType<CompletionSucceeded>(await _f.Producer.WaitForResultAsync(request.RequestId));

                Assert.Equal(("gemini", 2), (result.Provider, result.Attempts));
                Assert.Equal(2, _f.Sim.GetCounters("gemini").Total);
                var outcome = (await _f.OutcomesAsync([request.RequestId]))[request.RequestId];
                Assert.Equal((RequestStatus.Succeeded, 2, 1), outcome);
            });
        }
        finally
        {
            await DisposeAsync(first, second);
        }
    }

    [Fact]
    public async Task Killed_after_the_outcome_commit_and_before_its_publish_the_redelivery_publishes_the_stored_result_without_a_call()
    {
        _f.Sim.SetProfile("gemini", new FaultProfile { Hold = true });
        var request = TestProducer.NewRequest($"killed between commit and publish {_run}");
        WorkerProcess? first = null, second = null;
        try
        {
            await Bounded(TimeSpan.FromMinutes(3), async () =>
            {
                first = await WorkerProcess.StartAsync(_f.WorkerEnvironment());
                await _f.Producer.PublishAsync(request);
                await FaultFixture.WaitUntilAsync(() => Task.FromResult(_f.Sim.InFlight == 1), TimeSpan.FromSeconds(30),
                    "the provider call to be held");

                // The broker stops taking publishes; the held call is answered, the outcome committed, and the publish of
                // its result waits: the worker dies in exactly that window.
                await RabbitMqService.BlockPublishersAsync();
                try
                {
                    _f.Sim.ClearProfile("gemini");
                    await FaultFixture.WaitUntilAsync(async () => await StatusAsync(request.RequestId) == RequestStatus.Succeeded,
                        TimeSpan.FromSeconds(30), "the outcome to be committed");
                    await first.KillAsync();
                }
                finally
                {
                    await RabbitMqService.UnblockPublishersAsync();
                }

                second = await WorkerProcess.StartAsync(_f.WorkerEnvironment());
                var result = Assert.IsType<CompletionSucceeded>(await _f.Producer.WaitForResultAsync(request.RequestId));

                Assert.Equal(("gemini", 1), (result.Provider, result.Attempts));
                Assert.Equal(1, _f.Sim.GetCounters("gemini").Total);
                var outcome = (await _f.OutcomesAsync([request.RequestId]))[request.RequestId];
                Assert.Equal((RequestStatus.Succeeded, 1, 1), outcome);
            });
        }
        finally
        {
            await DisposeAsync(first, second);
        }
    }

    private async Task<string?> StatusAsync(Guid requestId)
    {
        await using var command = _f.Database.CreateCommand("SELECT status FROM requests WHERE request_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = requestId });
        return (string?)await command.ExecuteScalarAsync();
    }

    private async Task<long> ClaimedAsync(IReadOnlyCollection<Guid> requestIds)
    {
        await using var command = _f.Database.CreateCommand("SELECT count(*) FROM requests WHERE request_id = ANY($1) AND claim_token IS NOT NULL");
        command.Parameters.Add(new NpgsqlParameter { Value = requestIds.ToArray() });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static Task Bounded(TimeSpan limit, Func<Task> scenario) => WorkerProcessScope.RunAsync(limit, scenario);

    private static async Task DisposeAsync(params WorkerProcess?[] workers)
    {
        foreach (var worker in workers)
        {
            if (worker is not null)
                await worker.DisposeAsync();
        }
    }

    public Task DisposeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }
}
