using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Contracts;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.DeadLetters;
using Worker.IntegrationTests.Infrastructure;
using Worker.LastResort;
using Worker.Persistence;
using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Requests;
using Worker.Retention;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.LastResort;

/// <summary>
/// The last-resort level on real parts: a fresh cached answer costs no call, a stale one answers when both providers
/// fail (degraded, parked), and a template answers a request that allows it, its real answer following on replay as a
/// newer outcome. Runs in the dead-letter collection for its ops API, replay and the chain it configures for these tests.
/// </summary>
[Collection(DeadLetterCollection.Name)]
public sealed class LastResortTests(DeadLetterFixture fixture) : IAsyncLifetime
{
    private const string Chain = DeadLetterFixture.LastResortChain;

    private readonly DeadLetterFixture _f = fixture;

    public Task InitializeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }

    private long Calls() => _f.Sim.GetCounters().Total;

    private static CompletionRequested Ask(string prompt, CacheHints? cache = null, bool allowDegraded = false,
        Dictionary<string, string>? metadata = null) =>
        TestProducer.NewRequest(prompt, Chain) with { Cache = cache, AllowDegraded = allowDegraded, Metadata = metadata };

    private void BothProvidersDown()
    {
        _f.Sim.SetProfile("gemini", FaultProfile.AlwaysFail("503"));
        _f.Sim.SetProfile("openai", FaultProfile.AlwaysFail("503"));
    }

    /// <summary>Answers <paramref name="request"/> by a provider and waits for its cache entry (written after the publish).</summary>
    private async Task<CompletionSucceeded> AnswerAndCacheAsync(CompletionRequested request)
    {
        var answered = await _f.Producer.RequestAsync<CompletionSucceeded>(request);
        Assert.Equal((ResultSources.Provider, false), (answered.Source, answered.Degraded));
        await Eventually.TrueAsync(async () => await CreatedAtAsync(request) is not null, TestEnvironment.ResultTimeout, "the answer to be cached");
        return answered;
    }

    private async Task<DateTime?> CreatedAtAsync(CompletionRequested request)
    {
        await using var command = _f.Database.CreateCommand("SELECT created_at FROM response_cache WHERE key = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = CacheKey.Of(request, Chain) });
        return await command.ExecuteScalarAsync() as DateTime?;
    }

    [Fact]
    public async Task A_second_identical_request_is_answered_from_the_cache_without_a_provider_call()
    {
        var prompt = $"cache me {Guid.NewGuid():N}";
        var first = await AnswerAndCacheAsync(Ask(prompt));
        var calls = Calls();

        var second = Ask(prompt);
        var hit = await _f.Producer.RequestAsync<CompletionSucceeded>(second);

        Assert.Equal(calls, Calls());
        Assert.Equal((ResultSources.Cache, false, first.Text, first.Provider, first.Model), (hit.Source, hit.Degraded, hit.Text, hit.Provider, hit.Model));
        Assert.Equal((0, 0.0), (hit.Attempts, hit.CostUsd));
        Assert.InRange(hit.CacheAgeSeconds!.Value, 0, 600);
        var row = await AuditDatabase.FindAsync(_f.Database, second.RequestId);
        Assert.Equal((RequestStatus.Succeeded, 0), (row!.Status, row.AttemptCount));
        var attempt = Assert.Single(row.Attempts);
        Assert.Equal(("cache_hit", false, "cache"), (attempt.Decision, attempt.CallMade, attempt.Provider));
    }

    [Fact]
    public async Task A_request_that_opts_out_of_the_cache_calls_a_provider_and_one_with_max_age_zero_refreshes_the_entry()
    {
        var prompt = $"opt out {Guid.NewGuid():N}";
        await AnswerAndCacheAsync(Ask(prompt));
        var created = await CreatedAtAsync(Ask(prompt));
        var calls = Calls();

        var optedOut = await _f.Producer.RequestAsync<CompletionSucceeded>(Ask(prompt, new CacheHints(Use: false)));
        Assert.Equal(ResultSources.Provider, optedOut.Source);
        Assert.Equal(calls + 1, Calls());
        // use:false neither reads nor writes: the entry is the one the first answer left.
        Assert.Equal(created, await CreatedAtAsync(Ask(prompt)));

        var refreshed = await _f.Producer.RequestAsync<CompletionSucceeded>(Ask(prompt, new CacheHints(MaxAgeSeconds: 0)));
        Assert.Equal(ResultSources.Provider, refreshed.Source);
        Assert.Equal(calls + 2, Calls());
        await Eventually.TrueAsync(async () => await CreatedAtAsync(Ask(prompt)) > created, TestEnvironment.ResultTimeout, "the entry to be refreshed");
    }

    [Fact]
    public async Task With_both_providers_failing_an_expired_entry_within_its_stale_limit_answers_degraded_and_the_request_is_parked()
    {
        var prompt = $"stale if error {Guid.NewGuid():N}";
        var first = await AnswerAndCacheAsync(Ask(prompt));
        await using (var expire = _f.Database.CreateCommand("UPDATE response_cache SET expires_at = now() - interval '1 second' WHERE key = $1"))
        {
            expire.Parameters.Add(new NpgsqlParameter { Value = CacheKey.Of(Ask(prompt), Chain) });
            Assert.Equal(1, await expire.ExecuteNonQueryAsync());
        }

        BothProvidersDown();
        var request = Ask(prompt);
        var stale = await _f.Producer.RequestAsync<CompletionSucceeded>(request);

        Assert.Equal((ResultSources.Cache, true, first.Text), (stale.Source, stale.Degraded, stale.Text));
        Assert.True(stale.Attempts > 0, "the providers were tried first");
        Assert.NotNull(stale.CacheAgeSeconds);
        var row = await AuditDatabase.FindAsync(_f.Database, request.RequestId);
        Assert.Equal((RequestStatus.Parked, "providers_exhausted"), (row!.Status, row.FailureReason));
        Assert.Equal(("degraded", "cache"), (row.Attempts[^1].Decision, row.Attempts[^1].Provider));
        Assert.Equal("parked", await DeadLetterDb.StatusAsync(_f.Database, request.RequestId));
    }

    [Fact]
    public async Task With_both_providers_down_a_template_answers_and_the_replay_brings_the_real_answer_that_supersedes_it()
    {
        BothProvidersDown();
        var request = Ask($"template please {Guid.NewGuid():N}", allowDegraded: true, metadata: new() { ["name"] = "Ada" });

        var template = await _f.Producer.RequestAsync<CompletionSucceeded>(request);
        var templateId = RequestResult.MessageId(request.RequestId);
        Assert.Equal((ResultSources.Template, true, 0, (Guid?)null), (template.Source, template.Degraded, template.ReplayCount, template.Supersedes));
        Assert.Equal("Hi Ada, thanks for your message about your request. We will get back to you shortly.", template.Text);
        Assert.Equal("parked", await DeadLetterDb.StatusAsync(_f.Database, request.RequestId));

        // Delivered again: the stored template result, the same message id, no call.
        _f.Sim.Clear();
        await _f.Producer.PublishAsync(request);
        var again = Assert.IsType<CompletionSucceeded>((await _f.Producer.WaitForResultsAsync(request.RequestId, 2))[1]);
        Assert.Equal((template.Text, template.CompletedAt, ResultSources.Template), (again.Text, again.CompletedAt, again.Source));
        Assert.Equal(0, Calls());

        // The providers are back: ops replay it, and the real answer follows as the newer outcome.
        var accepted = await _f.PostAsync("/dead-letters/replay", new { requestIds = new[] { request.RequestId } }, HttpStatusCode.Accepted);
        await _f.WaitForOperationAsync((Guid)accepted["operationId"]!);
        var real = Assert.IsType<CompletionSucceeded>((await _f.Producer.WaitForResultsAsync(request.RequestId, 3))[2]);

        Assert.Equal((ResultSources.Provider, false, 1, (Guid?)templateId), (real.Source, real.Degraded, real.ReplayCount, real.Supersedes));
        Assert.Equal([templateId, templateId, RequestResult.MessageId(request.RequestId, 1)], _f.Producer.MessageIds(request.RequestId));
        Assert.Equal(1, _f.Sim.GetCounters("gemini").Total);
        Assert.Equal(RequestStatus.Succeeded, (await AuditDatabase.FindAsync(_f.Database, request.RequestId))!.Status);
    }

    [Fact]
    public async Task A_request_allowing_a_degraded_answer_gets_the_template_at_once_instead_of_being_deferred_while_every_breaker_is_open()
    {
        BothProvidersDown();
        var breakers = _f.Worker.Services.GetRequiredService<CircuitBreakers>();
        (string Provider, string Model)[] steps = [("gemini", "gemini-2.5-pro"), ("openai", "o3-mini")];
        try
        {
            foreach (var (provider, model) in steps)
            {
                for (var i = 0; i < 10; i++)
                    await breakers.PingFailedAsync(provider, model, ErrorClass.Server);
            }

            var request = Ask($"chat while everything is down {Guid.NewGuid():N}", allowDegraded: true, metadata: new() { ["name"] = "Bo", ["topic"] = "pricing" });
            var template = await _f.Producer.RequestAsync<CompletionSucceeded>(request);

            Assert.Equal((ResultSources.Template, true), (template.Source, template.Degraded));
            Assert.Equal("Hi Bo, thanks for your message about pricing. We will get back to you shortly.", template.Text);
            Assert.Empty(_f.Producer.Delays(request.RequestId));
            var row = await AuditDatabase.FindAsync(_f.Database, request.RequestId);
            Assert.Equal(RequestStatus.Parked, row!.Status);
            Assert.DoesNotContain(row.Attempts, a => a.Decision == "deferred");
            Assert.Equal("degraded", row.Attempts[^1].Decision);
            // The run would have been deferred (every step known down), not failed: the degraded answer replaced the wait.
            Assert.StartsWith("No provider could answer: no step left that may be called now", row.Error);
            Assert.Equal("parked", await DeadLetterDb.StatusAsync(_f.Database, request.RequestId));
        }
        finally
        {
            foreach (var (provider, model) in steps)
                await breakers.PingSucceededAsync(provider, model);
        }
    }

    [Fact]
    public async Task Retention_deletes_entries_past_their_stale_limit_then_the_oldest_beyond_the_bound()
    {
        var keys = Enumerable.Range(0, 4).Select(_ => $"{Guid.NewGuid():N}{Guid.NewGuid():N}").ToArray();
        await using (var seed = _f.Database.CreateCommand("""
            INSERT INTO response_cache (key, chain, text, provider, model, created_at, expires_at, stale_until)
            SELECT k, 'lr-chain', 'old answer', 'gemini', 'gemini-2.5-pro', timestamptz '2000-01-01' + i * interval '1 day',
                   timestamptz '2000-01-02', CASE WHEN i = 0 THEN timestamptz '2000-01-03' ELSE timestamptz '2100-01-01' END
            FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n), LATERAL (SELECT (n - 1)::int AS i) x
            """))
        {
            seed.Parameters.Add(new NpgsqlParameter { Value = keys });
            await seed.ExecuteNonQueryAsync();
        }

        var total = await CountAsync();
        var sweeper = new RetentionSweeper(_f.Database, TimeProvider.System, Options.Create(new RetentionOptions { Days = 0 }),
            NullLogger<RetentionSweeper>.Instance, new ResponseCache(_f.Database),
            Options.Create(new LastResortOptions { MaxCacheEntries = (int)total - 4 }));

        // The first seeded entry is past its stale limit; the other three are the oldest, beyond the bound.
        Assert.Equal((1L, 3L), await sweeper.SweepCacheAsync(CancellationToken.None));
        Assert.Equal(total - 4, await CountAsync());
        await using var left = _f.Database.CreateCommand("SELECT count(*) FROM response_cache WHERE key = ANY($1)");
        left.Parameters.Add(new NpgsqlParameter { Value = keys });
        Assert.Equal(0L, (long)(await left.ExecuteScalarAsync())!);
    }

    private async Task<long> CountAsync()
    {
        await using var count = _f.Database.CreateCommand("SELECT count(*) FROM response_cache");
        return (long)(await count.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task Without_allow_degraded_a_request_whose_providers_fail_is_parked_with_a_failure_as_before()
    {
        BothProvidersDown();
        var failed = await _f.Producer.RequestAsync<CompletionFailed>(Ask($"no template {Guid.NewGuid():N}"));
        Assert.True(failed.DeadLettered);
        Assert.Equal("providers_exhausted", failed.Reason);
    }
}
