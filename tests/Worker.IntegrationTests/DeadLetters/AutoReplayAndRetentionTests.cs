using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Contracts;
using Worker.DeadLetters;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.DeadLetters;

[Collection(DeadLetterCollection.Name)]
public sealed class AutoReplayAndRetentionTests(DeadLetterFixture fixture) : IDisposable
{
    private readonly DeadLetterFixture _f = fixture;

    private T Service<T>() where T : notnull => _f.Worker.Services.GetRequiredService<T>();

    [Fact]
    public async Task A_chain_is_healthy_after_a_recent_successful_call_on_its_first_step()
    {
        var health = Service<IChainHealth>();
        _f.Sim.Clear();
        await _f.Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest("warm up", DeadLetterFixture.OpenAIOnly));

        Assert.True(await health.IsHealthyAsync(DeadLetterFixture.OpenAIOnly, CancellationToken.None));
        Assert.False(await health.IsHealthyAsync(DeadLetterFixture.NeverCalled, CancellationToken.None));
        Assert.False(await health.IsHealthyAsync("not-a-chain", CancellationToken.None));
    }

    [Fact]
    public async Task Automatic_replay_replays_the_parked_requests_of_a_healthy_chain_and_leaves_the_others()
    {
        _f.Sim.SetProfile("openai", FaultProfile.AlwaysFail("503"));
        var request = TestProducer.NewRequest("replay me by myself", DeadLetterFixture.OpenAIOnly);
        Assert.True((await _f.Producer.RequestAsync<CompletionFailed>(request)).DeadLettered);
        _f.Sim.Clear();

        // Health is behind IChainHealth: here only openai-only is healthy, so only its items are replayed.
        var autoReplay = new AutoReplay(Service<NpgsqlDataSource>(), Service<DeadLetterStore>(), new HealthyOnly(DeadLetterFixture.OpenAIOnly),
            Service<ReplayRunner>(), Options.Create(new DeadLettersOptions { AutoReplayMaxReplays = 3 }), TimeProvider.System,
            NullLogger<AutoReplay>.Instance);
        var started = Assert.Single(await autoReplay.RunAsync(CancellationToken.None));
        var operation = await _f.WaitForOperationAsync(started.OperationId!.Value);

        Assert.Equal("auto-replay", (string?)operation["requestedBy"]);
        Assert.Equal(DeadLetterFixture.OpenAIOnly, (string?)operation["selection"]!["filter"]!["chain"]);
        Assert.IsType<CompletionSucceeded>((await _f.Producer.WaitForResultsAsync(request.RequestId, 2))[1]);
        // Nothing parked is left on that chain, so the next round starts nothing.
        Assert.Empty(await autoReplay.RunAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Retention_deletes_resolved_items_past_the_archive_retention_and_never_a_parked_one()
    {
        // A clock in 2001: only the rows seeded here are old enough, whatever else the database holds.
        var now = new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var db = _f.Database;
        var archivedOld = await SeedAsync(db, DeadLetterStatus.Archived, now.AddDays(-60), now.AddDays(-31));
        var replayedOld = await SeedAsync(db, DeadLetterStatus.Replayed, now.AddDays(-60), now.AddDays(-40));
        var archivedRecent = await SeedAsync(db, DeadLetterStatus.Archived, now.AddDays(-60), now.AddDays(-29));
        var parkedAncient = await SeedAsync(db, DeadLetterStatus.Parked, now.AddDays(-3000), null);

        var retention = new DeadLetterRetention(db, new FixedClock(now), Options.Create(new DeadLettersOptions { ArchiveRetentionDays = 30 }),
            NullLogger<DeadLetterRetention>.Instance);
        await retention.SweepAsync(CancellationToken.None);

        Assert.Null(await DeadLetterDb.StatusAsync(db, archivedOld));
        Assert.Null(await DeadLetterDb.StatusAsync(db, replayedOld));
        Assert.Equal(DeadLetterStatus.Archived, await DeadLetterDb.StatusAsync(db, archivedRecent));
        Assert.Equal(DeadLetterStatus.Parked, await DeadLetterDb.StatusAsync(db, parkedAncient));

        // Zero days keeps everything.
        var keepAll = new DeadLetterRetention(db, new FixedClock(now.AddYears(10)), Options.Create(new DeadLettersOptions { ArchiveRetentionDays = 0 }),
            NullLogger<DeadLetterRetention>.Instance);
        Assert.Equal(0, await keepAll.SweepAsync(CancellationToken.None));
        Assert.Equal(DeadLetterStatus.Archived, await DeadLetterDb.StatusAsync(db, archivedRecent));

        await using var cleanup = db.CreateCommand("DELETE FROM dead_letters WHERE id = ANY($1)");
        cleanup.Parameters.Add(new NpgsqlParameter { Value = new[] { archivedRecent, parkedAncient } });
        await cleanup.ExecuteNonQueryAsync();
    }

    private static async Task<Guid> SeedAsync(NpgsqlDataSource db, string status, DateTimeOffset parkedAt, DateTimeOffset? resolvedAt)
    {
        var id = Guid.NewGuid();
        await using var command = db.CreateCommand("""
            INSERT INTO dead_letters (id, source, status, reason, group_key, first_parked_at, last_parked_at, park_count, resolved_at)
            VALUES ($1, 'error_queue', $2, 'consumer_fault', '000000000000', $3, $3, 1, $4)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = status });
        command.Parameters.Add(new NpgsqlParameter { Value = parkedAt });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)resolvedAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        await command.ExecuteNonQueryAsync();
        return id;
    }

    private sealed class HealthyOnly(string chain) : IChainHealth
    {
        public Task<bool> IsHealthyAsync(string name, CancellationToken cancellationToken) => Task.FromResult(name == chain);
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    public void Dispose() => _f.Sim.Clear();
}
