using Npgsql;
using NpgsqlTypes;
using Worker.Contracts;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Requests;

namespace Worker.IntegrationTests.Deferrals;

/// <summary>
/// A deferred request always reaches an outcome: when its re-sent message is refused (its chain was removed by a deploy
/// while it waited) it fails with the reason, and when its message was lost after the release it is sent again.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class StrandedDeferralTests(PipelineFixture fixture) : IAsyncLifetime
{
    private readonly PipelineFixture _f = fixture;
    private readonly NpgsqlDataSource _db = NpgsqlDataSource.Create(TestEnvironment.Postgres);

    public Task InitializeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_deferred_request_whose_chain_was_removed_meanwhile_fails_naming_the_chain_instead_of_waiting_forever()
    {
        var request = TestProducer.NewRequest($"chain removed while deferred {Guid.NewGuid():N}", "removed-by-a-deploy");
        await DeferAsync(request, "waiting", resumeAt: DateTimeOffset.UtcNow, releasedAt: null);

        var failed = Assert.IsType<CompletionFailed>(await _f.Producer.WaitForResultAsync(request.RequestId));

        Assert.Equal(FailureReasons.InvalidRequest, failed.Reason);
        Assert.Contains("removed-by-a-deploy", failed.Error);
        var row = await AuditDatabase.FindAsync(_db, request.RequestId);
        Assert.Equal((RequestStatus.Failed, FailureReasons.InvalidRequest), (row!.Status, row.FailureReason));
        Assert.Equal(0L, await DeferralRowsAsync(request.RequestId));
        Assert.False(_f.Sim.CallsByPrompt().ContainsKey(request.Messages[^1].Content!));
    }

    [Fact]
    public async Task A_released_deferral_whose_message_never_arrived_is_sent_again_and_answered()
    {
        var request = TestProducer.NewRequest($"released message lost {Guid.NewGuid():N}");
        await DeferAsync(request, "released", resumeAt: DateTimeOffset.UtcNow.AddHours(-1), releasedAt: DateTimeOffset.UtcNow.AddHours(-1));

        var answered = Assert.IsType<CompletionSucceeded>(await _f.Producer.WaitForResultAsync(request.RequestId));

        Assert.Equal("gemini", answered.Provider);
        Assert.Equal(RequestStatus.Succeeded, (await AuditDatabase.FindAsync(_db, request.RequestId))!.Status);
        Assert.Equal(0L, await DeferralRowsAsync(request.RequestId));
    }

    /// <summary>The rows a deferral leaves, as the worker writes them, without the message in the queue.</summary>
    private async Task DeferAsync(CompletionRequested request, string state, DateTimeOffset resumeAt, DateTimeOffset? releasedAt)
    {
        await using var batch = new NpgsqlBatch(_db.OpenConnection());
        var insertRequest = new NpgsqlBatchCommand("""
            INSERT INTO requests (request_id, conversation_id, chain, status, received_at, fallback_used, attempt_count, replay_count, payload_hash)
            VALUES ($1, $2, $3, 'deferred', now(), FALSE, 1, 0, $4)
            """);
        insertRequest.Parameters.Add(new NpgsqlParameter { Value = request.RequestId });
        insertRequest.Parameters.Add(new NpgsqlParameter { Value = request.ConversationId! });
        insertRequest.Parameters.Add(new NpgsqlParameter { Value = request.Chain ?? "default" });
        insertRequest.Parameters.Add(new NpgsqlParameter { Value = PayloadHash.Of(request) });
        var insertDeferral = new NpgsqlBatchCommand("""
            INSERT INTO deferred_requests (request_id, state, kind, resume_at, step_index, attempt, calls, deferred_at, defer_count, message, released_at)
            VALUES ($1, $2, 'retry', $3, 0, 2, 1, now(), 1, $4, $5)
            """);
        insertDeferral.Parameters.Add(new NpgsqlParameter { Value = request.RequestId });
        insertDeferral.Parameters.Add(new NpgsqlParameter { Value = state });
        insertDeferral.Parameters.Add(new NpgsqlParameter { Value = resumeAt });
        insertDeferral.Parameters.Add(new NpgsqlParameter { Value = StoredJson.Request(request), NpgsqlDbType = NpgsqlDbType.Jsonb });
        insertDeferral.Parameters.Add(new NpgsqlParameter { Value = (object?)releasedAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        batch.BatchCommands.Add(insertRequest);
        batch.BatchCommands.Add(insertDeferral);
        await batch.ExecuteNonQueryAsync();
        await batch.Connection!.DisposeAsync();
    }

    private async Task<long> DeferralRowsAsync(Guid requestId)
    {
        await using var command = _db.CreateCommand("SELECT count(*) FROM deferred_requests WHERE request_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = requestId });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public async Task DisposeAsync()
    {
        _f.Sim.Clear();
        await _db.DisposeAsync();
    }
}
