using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly.CircuitBreaker;
using Quartz;
using Worker.Chain;
using Worker.Contracts;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.IntegrationTests.Ops;
using Worker.Persistence;
using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Simulator.Faults;
using static Worker.IntegrationTests.ProviderHealth.HealthFixture;

namespace Worker.IntegrationTests.ProviderHealth;

/// <summary>
/// Breakers, pings, pacing and GET /providers on real RabbitMQ, PostgreSQL and the simulator over HTTP. Pings are
/// run by calling the ping job's logic for chosen schedule instants; the simulator's counters show every call made.
/// </summary>
[Collection(HealthCollection.Name)]
public sealed class ProviderHealthTests(HealthFixture fixture) : IAsyncLifetime
{
    private static readonly ProviderModel GeminiPair = new(Gemini, GeminiModel);
    private static readonly ProviderModel OpenAIPair = new("openai", "o3-mini");

    public Task InitializeAsync() => fixture.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    private long Calls(string target) => fixture.Sim.GetCounters(target).Total;

    private static CircuitBreakers Breakers(Microsoft.AspNetCore.Builder.WebApplication app) => app.Services.GetRequiredService<CircuitBreakers>();

    private static ProviderPinger Pinger(Microsoft.AspNetCore.Builder.WebApplication app) => app.Services.GetRequiredService<ProviderPinger>();

    private static PingSync Sync(Microsoft.AspNetCore.Builder.WebApplication app) => app.Services.GetRequiredService<PingSync>();

    [Fact]
    public async Task Primary_hard_down_once_the_breaker_opens_requests_make_no_primary_call_and_wait_for_no_retry()
    {
        fixture.Sim.SetProfile(Gemini, FaultProfile.AlwaysFail("503"));

        // Request 1: three failed Gemini calls (below the 4-call minimum). Request 2: the fourth opens the breaker,
        // and its retry is skipped.
        var first = await fixture.Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest());
        var second = await fixture.Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest());
        Assert.Equal(4, first.Attempts);
        Assert.Equal(2, second.Attempts);
        Assert.Equal(CircuitState.Open, Breakers(fixture.Worker).StateOf(Gemini, GeminiModel));
        Assert.Equal(4, Calls(Gemini));

        var requests = Enumerable.Range(0, 6).Select(_ => TestProducer.NewRequest()).ToList();
        var results = await Task.WhenAll(requests.Select(fixture.Producer.RequestAsync<CompletionSucceeded>));

        Assert.Equal(4, Calls(Gemini));
        Assert.Equal(2 + 6, Calls("openai"));
        Assert.All(results, r =>
        {
            Assert.Equal("openai", r.Provider);
            Assert.True(r.FallbackUsed);
            Assert.Equal(1, r.Attempts);
        });
        foreach (var request in requests)
        {
            var row = await AuditDatabase.FindAsync(fixture.Database, request.RequestId);
            Assert.NotNull(row);
            Assert.Collection(row.Attempts,
                skipped =>
                {
                    Assert.Equal((Gemini, "skipped", false, "skipped: breaker open"), (skipped.Provider, skipped.Decision, skipped.CallMade, skipped.Note));
                    Assert.Null(skipped.WaitMs);
                },
                answered => Assert.Equal(("openai", "answered"), (answered.Provider, answered.Decision)));
        }
    }

    [Fact]
    public async Task Primary_recovers_the_next_ping_closes_the_breaker_and_the_primary_answers_again()
    {
        var at = fixture.NextScheduledTime();
        var pinger = Pinger(fixture.Worker);
        fixture.Sim.SetProfile(Gemini, FaultProfile.AlwaysFail("503"));

        var down1 = await pinger.PingAsync(Gemini, GeminiModel, at, CancellationToken.None);
        Assert.Equal(CircuitState.Closed, Breakers(fixture.Worker).StateOf(Gemini, GeminiModel));
        var down2 = await pinger.PingAsync(Gemini, GeminiModel, at.AddSeconds(30), CancellationToken.None);

        Assert.Equal((PingOutcome.Down, "server", 503), (down1!.Outcome, down1.ErrorClass, down1.HttpStatus));
        Assert.Equal(PingOutcome.Down, down2!.Outcome);
        Assert.Equal(CircuitState.Isolated, Breakers(fixture.Worker).StateOf(Gemini, GeminiModel));
        var meanwhile = await fixture.Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest());
        Assert.Equal(("openai", true), (meanwhile.Provider, meanwhile.FallbackUsed));
        Assert.Equal(2, Calls(Gemini)); // the two pings, no live call

        fixture.Sim.ClearProfile(Gemini);
        var up = await pinger.PingAsync(Gemini, GeminiModel, at.AddSeconds(60), CancellationToken.None);

        Assert.Equal(PingOutcome.Up, up!.Outcome);
        Assert.Equal(CircuitState.Closed, Breakers(fixture.Worker).StateOf(Gemini, GeminiModel));
        var recovered = await fixture.Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest());
        Assert.Equal((Gemini, false, 1), (recovered.Provider, recovered.FallbackUsed, recovered.Attempts));
        Assert.Equal(
            [(down1.Slot, PingOutcome.Down), (down1.Slot + 1, PingOutcome.Down), (down1.Slot + 2, PingOutcome.Up)],
            await PingsAsync(GeminiPair, down1.Slot, down1.Slot + 2));
    }

    [Fact]
    public async Task Two_instances_ping_once_per_slot_and_both_breakers_follow_the_pings()
    {
        var other = await fixture.StartWorkerAsync("it-b");
        try
        {
            ProviderModel[] pairs = [GeminiPair, OpenAIPair];
            var at = fixture.NextScheduledTime();
            fixture.Sim.SetProfile(Gemini, FaultProfile.AlwaysFail("503"));

            // Two slots with Gemini down, then one with it back: each instance runs the ping job for every pair at
            // the same scheduled instant, as their aligned Quartz triggers do.
            for (var slot = 0; slot < 3; slot++)
            {
                if (slot == 2)
                    fixture.Sim.ClearProfile(Gemini);
                var scheduledAt = at.AddSeconds(30 * slot);
                var pings = await Task.WhenAll(pairs.SelectMany(p => new[] { fixture.Worker, other }
                    .Select(app => Pinger(app).PingAsync(p.Provider, p.Model, scheduledAt, CancellationToken.None))));
                Assert.Equal(pairs.Length, pings.Count(p => p is not null));

                await Sync(fixture.Worker).SyncAsync(CancellationToken.None);
                await Sync(other).SyncAsync(CancellationToken.None);
                var expected = slot == 1 ? CircuitState.Isolated : CircuitState.Closed;
                Assert.Equal(expected, Breakers(fixture.Worker).StateOf(Gemini, GeminiModel));
                Assert.Equal(expected, Breakers(other).StateOf(Gemini, GeminiModel));
                Assert.Equal(CircuitState.Closed, Breakers(other).StateOf(OpenAIPair.Provider, OpenAIPair.Model));
            }

            Assert.Equal(3, Calls(Gemini));
            Assert.Equal(3, Calls("openai"));
            var first = ClusterSlots.SlotOf(at, TimeSpan.FromSeconds(30));
            foreach (var pair in pairs)
                Assert.Equal(new[] { first, first + 1, first + 2 }, (await PingsAsync(pair, first, first + 2)).Select(p => p.Slot));
        }
        finally
        {
            await StopAsync(other);
        }
    }

    [Fact]
    public async Task Fifteen_requests_a_minute_on_the_primary_send_the_excess_to_the_fallback_without_a_429()
    {
        var requests = Enumerable.Range(0, 20).Select(_ => TestProducer.NewRequest(chain: PacedChain)).ToList();

        var results = await Task.WhenAll(requests.Select(fixture.Producer.RequestAsync<CompletionSucceeded>));

        // The simulator enforces no limit: the primary getting exactly 15 calls, none answered 429, is the proof.
        Assert.Equal(15, Calls("paced"));
        Assert.False(fixture.Sim.GetCounters("paced").ByFault.ContainsKey(Fault.TooManyRequests));
        Assert.Equal(15, results.Count(r => r.Provider == "paced" && !r.FallbackUsed));
        Assert.Equal(5, results.Count(r => r.Provider == "openai" && r.FallbackUsed && r.Attempts == 1));
        var skipped = await NotesOfSkippedStepsAsync(requests.Select(r => r.RequestId));
        Assert.Equal(5, skipped.Count);
        Assert.All(skipped, note => Assert.StartsWith("skipped: pacing: paced at 15 requests/min", note));
    }

    [Fact]
    public async Task Get_providers_shows_state_breaker_last_ping_traffic_pacing_and_open_alerts_of_every_configured_pair()
    {
        var ping = await Pinger(fixture.Worker).PingAsync(Gemini, GeminiModel, fixture.NextScheduledTime(), CancellationToken.None);
        var alertId = Guid.NewGuid();
        await fixture.ExecuteAsync($"INSERT INTO provider_alerts (id, rule, provider, model, raised_at, detail) " +
                                   $"VALUES ('{alertId}', 'latency', 'gemini', 'gemini-2.5-pro', now(), 'seeded')");
        try
        {
            var report = await fixture.Ops.GetJsonAsync("/providers");

            Assert.Equal("it-a", (string?)report["instance"]);
            var providers = report["providers"]!.AsArray();
            // The shipped configuration's chains (default and fast) and this fixture's paced one.
            Assert.Equal(["gemini/gemini-2.5-flash", "gemini/gemini-2.5-pro", "openai/gpt-4o-mini", "openai/o3-mini", "paced/gemini-2.5-pro"],
                providers.Select(p => $"{p!["provider"]}/{p["model"]}").Order());
            var gemini = providers.Single(p => (string?)p!["provider"] == Gemini && (string?)p["model"] == GeminiModel)!;
            Assert.Contains((string?)gemini["state"], new[] { "healthy", "degraded", "critical" });
            Assert.NotNull((string?)gemini["stateReason"]);
            Assert.Equal("closed", (string?)gemini["breaker"]!["state"]);
            Assert.Equal("up", (string?)gemini["lastPing"]!["outcome"]);
            Assert.Equal(ping!.LatencyMs, (int)gemini["lastPing"]!["latencyMs"]!);
            Assert.NotNull(gemini["recent"]!["calls"]);
            Assert.True(gemini["recent"]!.AsObject().ContainsKey("p95Ms"));
            Assert.True((int)gemini["callsLastMinute"]! >= 1); // the ping
            Assert.Contains(gemini["alerts"]!.AsArray(), a => (string?)a!["id"] == alertId.ToString() && (string?)a["rule"] == "latency");
            var paced = providers.Single(p => (string?)p!["provider"] == "paced")!;
            Assert.Equal(15, (int)paced["pacing"]!["requestsPerMinute"]!);
            Assert.Empty(paced["alerts"]!.AsArray());

            using var anonymous = new HttpClient { BaseAddress = fixture.Ops.BaseAddress };
            using var refused = await anonymous.GetAsync("/providers");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        finally
        {
            await fixture.ExecuteAsync($"DELETE FROM provider_alerts WHERE id = '{alertId}'");
        }
    }

    [Fact]
    public async Task A_down_provider_shows_offline_on_get_providers()
    {
        fixture.Sim.SetProfile(Gemini, FaultProfile.AlwaysFail("503"));
        var at = fixture.NextScheduledTime();
        await Pinger(fixture.Worker).PingAsync(Gemini, GeminiModel, at, CancellationToken.None);
        await Pinger(fixture.Worker).PingAsync(Gemini, GeminiModel, at.AddSeconds(30), CancellationToken.None);

        var gemini = (await fixture.Ops.GetJsonAsync("/providers"))["providers"]!.AsArray()
            .Single(p => (string?)p!["provider"] == Gemini && (string?)p["model"] == GeminiModel)!;

        Assert.Equal("offline", (string?)gemini["state"]);
        Assert.Equal("isolated", (string?)gemini["breaker"]!["state"]);
        Assert.NotNull((string?)gemini["breaker"]!["openSince"]);
        Assert.Equal(("down", "server", 503), ((string?)gemini["lastPing"]!["outcome"], (string?)gemini["lastPing"]!["errorClass"], (int?)gemini["lastPing"]!["httpStatus"]));
    }

    [Fact]
    public async Task Get_providers_shows_the_quota_the_provider_reported_in_its_headers()
    {
        fixture.Sim.SetProfile("openai", new FaultProfile { RequestsPerMinute = 10 });
        try
        {
            await Pinger(fixture.Worker).PingAsync("openai", "o3-mini", fixture.NextScheduledTime(), CancellationToken.None);

            var openai = (await fixture.Ops.GetJsonAsync("/providers"))["providers"]!.AsArray()
                .Single(p => (string?)p!["provider"] == "openai" && (string?)p["model"] == "o3-mini")!;
            var requests = openai["quota"]!["requests"]!;
            Assert.Equal((9L, 10L, true), ((long?)requests["remaining"], (long?)requests["limit"], (bool?)requests["fresh"]));
            Assert.Equal(0.9, (double?)openai["quota"]!["remainingFraction"]);
            Assert.Equal(0.9, fixture.Worker.Services.GetRequiredService<IQuotaView>().RemainingFraction("openai", "o3-mini"));
        }
        finally
        {
            fixture.Sim.ClearProfile("openai");
        }
    }

    [Fact]
    public async Task Alert_evaluation_and_slot_claims_run_once_per_cluster_slot()
    {
        var at = fixture.NextScheduledTime();
        using (var scope1 = fixture.Worker.Services.CreateScope())
        using (var scope2 = fixture.Worker.Services.CreateScope())
        {
            Assert.NotNull(await scope1.ServiceProvider.GetRequiredService<ProviderAlerts>().RunAsync(at, CancellationToken.None));
            Assert.Null(await scope2.ServiceProvider.GetRequiredService<ProviderAlerts>().RunAsync(at.AddSeconds(29), CancellationToken.None));
        }

        ClusterSlots SlotsOf(string instance) => new(fixture.Database, Options.Create(new ProviderHealthOptions { InstanceName = instance }), TimeProvider.System);
        var claims = await Task.WhenAll(new[] { "x", "y", "z" }.Select(i => SlotsOf(i).TryClaimAsync($"test-{fixture.Run}", at, TimeSpan.FromSeconds(30), CancellationToken.None)));
        Assert.Single(claims, won => won is not null);
        await using var command = fixture.Database.CreateCommand($"SELECT count(*) FROM provider_health_slots WHERE job = 'test-{fixture.Run}'");
        Assert.Equal(1L, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Quartz_runs_the_health_jobs_beside_retention_on_the_one_scheduler()
    {
        var scheduled = await fixture.StartWorkerAsync("it-c", runScheduler: true, new Dictionary<string, string?>
        {
            ["ProviderHealth:PingInterval"] = "00:00:01",
            ["ProviderHealth:PingTimeout"] = "00:00:00.900",
            ["ProviderHealth:SyncInterval"] = "00:00:00.500",
            // Scheduled, but its first firing is an hour boundary away: these tests drive alerts themselves.
            ["ProviderHealth:AlertInterval"] = "01:00:00",
            ["Retention:Days"] = "30",
        });
        try
        {
            var scheduler = await scheduled.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
            // Other features' jobs (retention, dead letters) share the scheduler; the health jobs are in a group of their own.
            var jobs = (await scheduler.QueryJobs(new JobQuery(), CancellationToken.None)).Items.Select(j => j.Key).ToList();
            Assert.Equal(["alerts", "history", "ping gemini/gemini-2.5-flash", "ping gemini/gemini-2.5-pro", "ping openai/gpt-4o-mini", "ping openai/o3-mini",
                    "ping paced/gemini-2.5-pro", "ping sync"],
                jobs.Where(k => k.Group == "provider-health").Select(k => k.Name).Order());
            Assert.Contains(jobs, k => k.Name == "retention");

            // Real firings (a second apart): wait, bounded, for this instance's first ping of each pair to be stored.
            var stored = await Eventually.ValueAsync(async () =>
            {
                await using var command = fixture.Database.CreateCommand("SELECT count(DISTINCT (provider, model)) FROM provider_pings WHERE instance = 'it-c'");
                return (long)(await command.ExecuteScalarAsync())!;
            }, pairs => pairs >= 5, TimeSpan.FromSeconds(20), "instance it-c to store a ping of each of its 5 pairs");

            Assert.Equal(5, stored);
        }
        finally
        {
            await StopAsync(scheduled);
        }
    }

    private async Task<List<(long Slot, string Outcome)>> PingsAsync(ProviderModel pair, long fromSlot, long toSlot)
    {
        await using var command = fixture.Database.CreateCommand(
            "SELECT slot, outcome FROM provider_pings WHERE provider = $1 AND model = $2 AND slot BETWEEN $3 AND $4 ORDER BY slot, id");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pair.Provider });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pair.Model });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fromSlot });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = toSlot });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(long, string)>();
        while (await reader.ReadAsync())
            rows.Add((reader.GetInt64(0), reader.GetString(1)));
        return rows;
    }

    private async Task<List<string>> NotesOfSkippedStepsAsync(IEnumerable<Guid> requestIds)
    {
        await using var command = fixture.Database.CreateCommand("SELECT note FROM attempts WHERE request_id = ANY($1) AND decision = 'skipped'");
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. requestIds] });
        await using var reader = await command.ExecuteReaderAsync();
        var notes = new List<string>();
        while (await reader.ReadAsync())
            notes.Add(reader.GetString(0));
        return notes;
    }
}
