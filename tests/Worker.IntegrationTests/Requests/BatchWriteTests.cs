using Npgsql;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Requests;

namespace Worker.IntegrationTests.Requests;

/// <summary>
/// The group-commit statements on the real database: what a batch writes, what it leaves to each request's own write,
/// and that a bad row takes its whole batch's transaction down with it (every request of that batch then writes alone,
/// which GroupCommitTests and the consumer's fallback cover).
/// </summary>
public sealed class BatchWriteTests : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    private readonly NpgsqlDataSource _db = NpgsqlDataSource.Create(TestEnvironment.Postgres);
    private readonly List<Guid> _ids = [];

    private RequestRow NewRow(string chain = "default")
    {
        var id = Guid.NewGuid();
        _ids.Add(id);
        return new RequestRow
        {
            RequestId = id, Chain = chain, Status = RequestStatus.InProgress, ReceivedAt = Sql.Micro(DateTimeOffset.UtcNow),
            PayloadHash = new string('a', 64), ClaimedBy = "batch-tests", ClaimToken = Guid.NewGuid(),
            Metadata = new Dictionary<string, string> { ["lead"] = "Ada" }, PromptHash = new string('b', 64),
        };
    }

    private static RequestRow Finished(RequestRow claimed, int attempts)
    {
        var completedAt = Sql.Micro(DateTimeOffset.UtcNow);
        return new RequestRow
        {
            RequestId = claimed.RequestId, Chain = claimed.Chain, Status = RequestStatus.Succeeded, ReceivedAt = claimed.ReceivedAt,
            FirstAttemptAt = completedAt, CompletedAt = completedAt, Provider = "gemini", Model = "gemini-2.5-flash", AttemptCount = attempts,
            Result = """{"requestId":"x"}""", EstimatedCostUsd = 0.001m,
            Attempts = [.. Enumerable.Range(1, attempts).Select(n => new AttemptRow
            {
                RequestId = claimed.RequestId, StepIndex = 0, Provider = "gemini", Model = "gemini-2.5-flash", Attempt = n, StartedAt = completedAt,
                EndedAt = completedAt, CallMade = true, Outcome = n == attempts ? "ok" : "error", ErrorClass = n == attempts ? null : "server",
                Decision = n == attempts ? "answered" : "retried", CostUsd = 0.0005m,
            })],
        };
    }

    [Fact]
    public async Task A_claim_batch_claims_new_requests_and_leaves_one_that_has_a_row_to_its_own_claim()
    {
        var existing = NewRow();
        Assert.True(Assert.Single(await ClaimBatch.WriteAsync(_db, Lease, [existing], CancellationToken.None)));
        var duplicate = NewRow();
        duplicate.RequestId = existing.RequestId;
        var fresh = NewRow();

        var answers = await ClaimBatch.WriteAsync(_db, Lease, [duplicate, fresh], CancellationToken.None);

        Assert.False(answers[0]);
        Assert.True(answers[1]);
        Assert.Equal(existing.ClaimToken, (await AuditDatabase.FindAsync(_db, existing.RequestId))!.ClaimToken);
        var claimed = (await AuditDatabase.FindAsync(_db, fresh.RequestId))!;
        Assert.Equal((RequestStatus.InProgress, fresh.ClaimToken, "Ada"), (claimed.Status, claimed.ClaimToken, claimed.Metadata!["lead"]));
        Assert.True(claimed.LeaseUntil > DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task A_claim_batch_with_one_bad_row_writes_none_of_its_rows()
    {
        var good = NewRow();
        var bad = NewRow(chain: new string('c', 200)); // longer than the chain column holds
        var alsoGood = NewRow();

        var failure = await Assert.ThrowsAsync<PostgresException>(() => ClaimBatch.WriteAsync(_db, Lease, [good, bad, alsoGood], CancellationToken.None));

        Assert.Equal(PostgresErrorCodes.StringDataRightTruncation, failure.SqlState);
        Assert.Null(await AuditDatabase.FindAsync(_db, good.RequestId));
        Assert.Null(await AuditDatabase.FindAsync(_db, alsoGood.RequestId));
        Assert.True(Assert.Single(await ClaimBatch.WriteAsync(_db, Lease, [good], CancellationToken.None)));
    }

    [Fact]
    public async Task An_outcome_batch_writes_the_outcomes_whose_claim_it_holds_with_their_attempts_and_leaves_the_others()
    {
        var held = NewRow();
        var lost = NewRow();
        await ClaimBatch.WriteAsync(_db, Lease, [held, lost], CancellationToken.None);

        var answers = await OutcomeBatch.WriteAsync(_db,
            [new OutcomeBatch.Item(Finished(held, attempts: 2), held.ClaimToken!.Value), new OutcomeBatch.Item(Finished(lost, attempts: 1), Guid.NewGuid())],
            CancellationToken.None);

        Assert.True(answers[0]);
        Assert.False(answers[1]);
        var written = (await AuditDatabase.FindAsync(_db, held.RequestId))!;
        Assert.Equal((RequestStatus.Succeeded, 2, (Guid?)null, (DateTimeOffset?)null), (written.Status, written.AttemptCount, written.ClaimToken, written.LeaseUntil));
        Assert.Equal(["retried", "answered"], written.Attempts.Select(a => a.Decision));
        var untouched = (await AuditDatabase.FindAsync(_db, lost.RequestId))!;
        Assert.Equal((RequestStatus.InProgress, 0), (untouched.Status, untouched.Attempts.Count));

        // The same write again (its first commit's acknowledgement lost) finds no claim: nothing is written twice.
        var again = await OutcomeBatch.WriteAsync(_db, [new OutcomeBatch.Item(Finished(held, attempts: 2), held.ClaimToken!.Value)], CancellationToken.None);
        Assert.False(Assert.Single(again));
        Assert.Equal(2, (await AuditDatabase.FindAsync(_db, held.RequestId))!.Attempts.Count);
    }

    [Fact]
    public async Task An_outcome_ends_the_requests_deferral_and_makes_a_waiting_duplicate_due_at_once()
    {
        var resumed = NewRow();
        var watched = NewRow();
        await ClaimBatch.WriteAsync(_db, Lease, [resumed, watched], CancellationToken.None);
        await using (var insert = _db.CreateCommand("""
            INSERT INTO deferred_requests (request_id, state, kind, resume_at, step_index, attempt, calls, deferred_at, defer_count, message)
            VALUES (@resumed, 'running', 'retry', now() + interval '1 hour', 1, 1, 1, now(), 1, '{}'),
                   (@watched, 'waiting', 'in_flight', now() + interval '1 hour', 0, 1, 0, now(), 1, '{}')
            """))
        {
            insert.Parameters.AddWithValue("resumed", resumed.RequestId);
            insert.Parameters.AddWithValue("watched", watched.RequestId);
            await insert.ExecuteNonQueryAsync();
        }

        var watchedOutcome = Finished(watched, attempts: 1);
        await OutcomeBatch.WriteAsync(_db,
            [new OutcomeBatch.Item(Finished(resumed, attempts: 1), resumed.ClaimToken!.Value), new OutcomeBatch.Item(watchedOutcome, watched.ClaimToken!.Value)],
            CancellationToken.None);

        await using var read = _db.CreateCommand("SELECT request_id, resume_at FROM deferred_requests WHERE request_id = ANY(@ids)");
        read.Parameters.AddWithValue("ids", new[] { resumed.RequestId, watched.RequestId });
        await using var reader = await read.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal((watched.RequestId, watchedOutcome.CompletedAt!.Value), (reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1)));
        Assert.False(await reader.ReadAsync());
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await using (var delete = _db.CreateCommand("DELETE FROM deferred_requests WHERE request_id = ANY(@ids); DELETE FROM requests WHERE request_id = ANY(@ids)"))
        {
            delete.Parameters.AddWithValue("ids", _ids.ToArray());
            await delete.ExecuteNonQueryAsync();
        }

        await _db.DisposeAsync();
    }
}
