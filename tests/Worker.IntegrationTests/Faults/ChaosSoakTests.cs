using System.Diagnostics;
using Worker.Audit;
using Worker.Contracts;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Simulator.Faults;
using Xunit.Abstractions;

namespace Worker.IntegrationTests.Faults;

/// <summary>
/// 2,000 requests against a primary failing 30 % of calls (500, 503, 429, hang, reset, malformed: 5 % each) and a
/// fallback failing 5 % the same ways, with breakers and pacing as in production (short break and hang timeouts so the
/// soak stays under a few minutes). At least 99.9 % succeed; the rest are parked; every request has its outcome.
/// </summary>
/// <remarks>
/// The chain has a second fallback model on the fallback provider, which the soak was written with: a hang is not
/// retried on the same step (it falls back), and before one more call after bad output and the last chance existed, the
/// default two steps would have parked about 0.25 % of the requests.
/// </remarks>
[Collection(FaultCollection.Name)]
public sealed class ChaosSoakTests(FaultFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Requests = 2000;
    private readonly FaultFixture _f = fixture;

    public async Task InitializeAsync()
    {
        _f.Sim.Clear();
        await _f.CleanSlateAsync();
    }

    [Fact]
    public async Task Two_thousand_requests_against_a_30_percent_faulty_primary_at_least_999_in_1000_succeed_and_the_rest_are_parked()
    {
        _f.Sim.SetProfile("gemini", Mixed(0.30, seed: 7));
        _f.Sim.SetProfile("openai", Mixed(0.05, seed: 11));
        var environment = _f.WorkerEnvironment();
        environment["Messaging:ConcurrencyLimit"] = "200";
        environment["Messaging:PrefetchCount"] = "200";
        // A hang costs this long. Far above a healthy call on a loaded machine, so only the hangs time out.
        environment["Providers:gemini:Timeout"] = "00:00:05";
        environment["Providers:openai:Timeout"] = "00:00:05";
        environment["Chains:default:1:MaxRetries"] = "2";
        environment["Chains:default:2:Provider"] = "openai";
        environment["Chains:default:2:Model"] = "gpt-4o-mini";
        environment["Chains:default:2:MaxRetries"] = "2";
        environment["Chains:default:2:BaseDelay"] = "00:00:00.050";
        environment["Chains:default:2:MaxDelay"] = "00:00:00.200";
        // Breakers as in production (the fixture turns them off), with a break short enough for a soak.
        environment["ProviderHealth:MinimumThroughput"] = "20";
        environment["ProviderHealth:BreakDuration"] = "00:00:03";
        var requests = Enumerable.Range(0, Requests).Select(i => TestProducer.NewRequest($"chaos #{i} {Guid.NewGuid():N}")).ToList();
        var ids = requests.Select(r => r.RequestId).ToList();
        WorkerProcess? worker = null;
        try
        {
            await WorkerProcessScope.RunAsync(TimeSpan.FromMinutes(5), async () =>
            {
                worker = await WorkerProcess.StartAsync(environment);
                var watch = Stopwatch.StartNew();
                await Task.WhenAll(requests.Select(_f.Producer.PublishAsync));
                var unanswered = await _f.Producer.WaitForAllAsync(ids, TimeSpan.FromMinutes(3));
                if (unanswered.Count > 0)
                    Assert.Fail($"{unanswered.Count} request(s) without a result; worker:\n{worker.Tail()}");
                var elapsed = watch.Elapsed;

                var outcomes = await _f.OutcomesAsync(ids);
                Assert.Equal(Requests, outcomes.Count);
                var succeeded = outcomes.Values.Count(o => o.Status == RequestStatus.Succeeded);
                var parked = outcomes.Values.Count(o => o.Status == RequestStatus.Parked);
                // None unaccounted: every request either succeeded or was parked, and its result says so.
                Assert.Equal(Requests, succeeded + parked);
                // One outcome per request: any duplicate result is the same message, and it says what the row says.
                Assert.All(ids, id => Assert.Single(_f.Producer.Results(id).Select(r => System.Text.Json.JsonSerializer.Serialize(r, r.GetType())).Distinct()));
                Assert.All(ids, id => Assert.Single(_f.Producer.MessageIds(id).Distinct()));
                Assert.All(ids, id => Assert.Equal(outcomes[id].Status == RequestStatus.Succeeded,
                    _f.Producer.Results(id)[0] is CompletionSucceeded));
                Assert.All(ids.Where(id => outcomes[id].Status == RequestStatus.Parked),
                    id => Assert.True(Assert.IsType<CompletionFailed>(_f.Producer.Results(id)[0]).DeadLettered));
                // Every call the providers saw is an attempt row, and every attempt row that says it called was seen.
                var seen = _f.Sim.GetCounters("gemini").Total + _f.Sim.GetCounters("openai").Total;
                Assert.Equal(seen, await CallsRecordedAsync(ids));
                Assert.All(ids, id => Assert.Equal(1, outcomes[id].Answered + (outcomes[id].Status == RequestStatus.Parked ? 1 : 0)));
                Assert.True(succeeded >= Requests * 0.999, $"{succeeded} of {Requests} succeeded");
                Assert.Equal(0, await _f.ErrorQueueDeadLettersAsync(ids));

                var gemini = _f.Sim.GetCounters("gemini");
                var openai = _f.Sim.GetCounters("openai");
                output.WriteLine($"{succeeded} succeeded, {parked} parked in {elapsed.TotalSeconds:0.0} s; " +
                    $"gemini {gemini.Total} calls ({gemini.Total - gemini.Succeeded} failed), openai {openai.Total} calls ({openai.Total - openai.Succeeded} failed)");
            });
        }
        finally
        {
            if (worker is not null)
                await worker.DisposeAsync();
        }
    }

    private async Task<long> CallsRecordedAsync(IReadOnlyCollection<Guid> requestIds)
    {
        await using var command = _f.Database.CreateCommand("SELECT count(*) FROM attempts WHERE request_id = ANY($1) AND call_made");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = requestIds.ToArray() });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The six fault kinds in equal shares adding up to <paramref name="rate"/>.</summary>
    private static FaultProfile Mixed(double rate, int seed) => new()
    {
        Rates = new[] { "500", "503", "429", "hang", "reset", "malformed" }.ToDictionary(f => f, _ => rate / 6),
        RetryAfterSeconds = 1,
        Seed = seed,
    };

    public Task DisposeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }
}
