using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Audit;
using Worker.Persistence;
using Worker.Retention;
using static Worker.IntegrationTests.Ops.Rows;

namespace Worker.IntegrationTests.Ops;

/// <summary>
/// The retention sweep on real PostgreSQL, driven directly with a fixed clock in 2001: only rows seeded here are old
/// enough to go, whatever else the test database holds.
/// </summary>
[Collection(OpsCollection.Name)]
public sealed class RetentionTests(OpsFixture fixture)
{
    private static readonly DateTimeOffset Now = new(2001, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private RetentionSweeper Sweeper(int days, int batchSize) => new(
        fixture.Database,
        new FixedClock(Now),
        Options.Create(new RetentionOptions { Days = days, BatchSize = batchSize }),
        NullLogger<RetentionSweeper>.Instance);

    private static DateTimeOffset DaysAgo(double days) => Now.AddDays(-days);

    [Fact]
    public async Task Finished_requests_older_than_the_retention_go_with_their_attempts_and_nothing_else_does()
    {
        var p = $"ops-{fixture.Run}-retention";
        // Cut-off: 30 days before Now.
        var oldSucceeded = Request(RequestStatus.Succeeded, DaysAgo(41), DaysAgo(40), p, "m", false,
            Call(0, p, "m", 1, DaysAgo(41), 100, "server", "retried"),
            Call(0, p, "m", 2, DaysAgo(41).AddSeconds(1), 100));
        var oldFailed = Request(RequestStatus.Failed, DaysAgo(32), DaysAgo(31), p, "m", false,
            Call(0, p, "m", 1, DaysAgo(32), 100, "auth", "gave_up"));
        var oldFailedNoAttempts = Request(RequestStatus.Failed, DaysAgo(35), DaysAgo(35), p, "m");
        var oldParked = Request(RequestStatus.Parked, DaysAgo(60), DaysAgo(60), p, "m", false,
            Call(0, p, "m", 1, DaysAgo(60), 100, "server", "gave_up"));
        var oldReplayed = Request(RequestStatus.Replayed, DaysAgo(60), DaysAgo(60), p, "m");
        var stuckInProgress = Request(RequestStatus.InProgress, DaysAgo(60), null, p, "m", false,
            Call(0, p, "m", 1, DaysAgo(60), 100, "timeout", "retried"));
        var neverStarted = Request(RequestStatus.Received, DaysAgo(60), null);
        var recent = Request(RequestStatus.Succeeded, DaysAgo(29), DaysAgo(29), p, "m", false,
            Call(0, p, "m", 1, DaysAgo(29), 100));
        // Received long ago but completed within the retention: completed_at decides.
        var lateFinisher = Request(RequestStatus.Succeeded, DaysAgo(45), DaysAgo(10), p, "m");
        await fixture.SeedAsync(oldSucceeded, oldFailed, oldFailedNoAttempts, oldParked, oldReplayed, stuckInProgress, neverStarted, recent, lateFinisher);

        // Batches of 2: three requests take two statements.
        var result = await Sweeper(days: 30, batchSize: 2).SweepAsync(CancellationToken.None);

        Assert.Equal(DaysAgo(30), result.Cutoff);
        Assert.Equal(3, result.Requests);
        Assert.Equal(3, result.Attempts);
        Assert.Equal(
            [oldParked.RequestId, oldReplayed.RequestId, stuckInProgress.RequestId, neverStarted.RequestId, recent.RequestId, lateFinisher.RequestId],
            await RemainingAsync(oldSucceeded, oldFailed, oldFailedNoAttempts, oldParked, oldReplayed, stuckInProgress, neverStarted, recent, lateFinisher));
        Assert.Equal(0, await AttemptCountAsync(oldSucceeded.RequestId, oldFailed.RequestId));
        Assert.Equal(3, await AttemptCountAsync(oldParked.RequestId, stuckInProgress.RequestId, recent.RequestId));

        // A second sweep finds nothing left to do.
        var again = await Sweeper(days: 30, batchSize: 2).SweepAsync(CancellationToken.None);
        Assert.Equal((3L, 0L), (result.Requests, again.Requests));
    }

    [Fact]
    public async Task Zero_days_keeps_everything()
    {
        var p = $"ops-{fixture.Run}-forever";
        // Years old, yet after the other test's 2000 cut-off, so that test's sweep leaves it alone whatever the order.
        var longAgo = DateTimeOffset.UtcNow.AddDays(-3000);
        var ancient = Request(RequestStatus.Succeeded, longAgo, longAgo, p, "m", false, Call(0, p, "m", 1, longAgo, 100));
        await fixture.SeedAsync(ancient);

        var result = await Sweeper(days: 0, batchSize: 5_000).SweepAsync(CancellationToken.None);

        Assert.Equal(new RetentionResult(null, 0, 0), result);
        Assert.Equal([ancient.RequestId], await RemainingAsync(ancient));
        Assert.Equal(1, await AttemptCountAsync(ancient.RequestId));
    }

    private async Task<List<Guid>> RemainingAsync(params RequestRow[] requests)
    {
        var ids = requests.Select(r => r.RequestId).ToArray();
        await using var command = fixture.Database.CreateCommand("SELECT request_id FROM requests WHERE request_id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = ids });
        var found = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            found.Add(reader.GetGuid(0));
        // In the order the test listed them, so a failure reads naturally.
        return [.. ids.Where(found.Contains)];
    }

    private async Task<long> AttemptCountAsync(params Guid[] requestIds)
    {
        await using var command = fixture.Database.CreateCommand("SELECT count(*) FROM attempts WHERE request_id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = requestIds });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
