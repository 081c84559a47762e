using Npgsql;
using Worker.Audit;
using Worker.Contracts;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Messaging;
using Worker.Persistence;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Deferrals;

/// <summary>
/// A wait longer than Chain:InProcessWaitLimit (5 s) does not hold a consumer slot: the request is stored with its chain
/// position, acknowledged, and re-published when the wait is over, resuming on the same step with the next attempt.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class DeferralTests(PipelineFixture fixture) : IAsyncLifetime
{
    private readonly PipelineFixture _f = fixture;
    private readonly NpgsqlDataSource _db = NpgsqlDataSource.Create(TestEnvironment.Postgres);

    public Task InitializeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_long_retry_after_is_deferred_durably_and_resumed_on_the_same_step()
    {
        _f.Sim.SetProfile("gemini", new FaultProfile { Script = ["429"], RetryAfterSeconds = 7 });
        var request = TestProducer.NewRequest($"quota reset {Guid.NewGuid():N}");
        var published = DateTimeOffset.UtcNow;

        await _f.Producer.PublishAsync(request);
        var deferred = await WaitForStatusAsync(request.RequestId, RequestStatus.Deferred);
        DateTimeOffset resumeAt;
        await using (var command = _db.CreateCommand("SELECT state, kind, step_index, attempt, calls, resume_at FROM deferred_requests WHERE request_id = $1"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = request.RequestId });
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(("waiting", "retry", 0, 2, 1), (reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4)));
            resumeAt = reader.GetFieldValue<DateTimeOffset>(5);
            Assert.True(resumeAt >= published.AddSeconds(7));
        }

        Assert.Equal(("deferred", 1), (deferred.Attempts.Single().Decision, deferred.AttemptCount));

        var result = Assert.IsType<CompletionSucceeded>(await _f.Producer.WaitForResultAsync(request.RequestId));
        Assert.Equal(("gemini", false, 2), (result.Provider, result.FallbackUsed, result.Attempts));
        var row = await AuditDatabase.FindAsync(_db, request.RequestId);
        Assert.Equal((RequestStatus.Succeeded, 2), (row!.Status, row.AttemptCount));
        Assert.Equal([("deferred", 1), ("answered", 2)], row.Attempts.Select(a => (a.Decision, a.Attempt)));
        // Resumed no earlier than the Retry-After allowed, by the worker's own record of the call.
        Assert.True(row.Attempts[1].StartedAt >= resumeAt, $"the retry started at {row.Attempts[1].StartedAt:O}, before its resume_at {resumeAt:O}");
        Assert.Equal(2, _f.Sim.GetCounters("gemini").Total);
        Assert.Equal(1, _f.Producer.ResultCount(request.RequestId));
        await using var left = _db.CreateCommand("SELECT count(*) FROM deferred_requests WHERE request_id = $1");
        left.Parameters.Add(new NpgsqlParameter { Value = request.RequestId });
        Assert.Equal(0L, await left.ExecuteScalarAsync());
    }

    [Fact]
    public async Task The_producer_hears_of_the_deferral_before_its_one_result()
    {
        _f.Sim.SetProfile("gemini", new FaultProfile { Script = ["429"], RetryAfterSeconds = 7 });
        var request = TestProducer.NewRequest($"tell me you wait {Guid.NewGuid():N}");
        var published = DateTimeOffset.UtcNow;

        await _f.Producer.PublishAsync(request);

        var (messageId, notice) = (await Eventually.ValueAsync(() => Task.FromResult(_f.Producer.Delays(request.RequestId)), d => d.Count > 0,
            TimeSpan.FromSeconds(30), $"a CompletionDelayed for {request.RequestId}")).Single();
        Assert.Equal((DelayReasons.RetryWait, 1, 0, request.ConversationId), (notice.Reason, notice.Attempts, notice.ReplayCount, notice.ConversationId));
        Assert.Equal("acme", notice.Metadata!["tenant"]);
        Assert.Contains("gemini", notice.Detail);
        Assert.True(notice.ExpectedResumeAt >= published.AddSeconds(7), $"expected to resume at {notice.ExpectedResumeAt:O}");
        Assert.Equal(DelayNotices.MessageId(request.RequestId, notice.ExpectedResumeAt), messageId);

        var result = Assert.IsType<CompletionSucceeded>(await _f.Producer.WaitForResultAsync(request.RequestId));
        Assert.Equal(("gemini", ResultSources.Provider, 2), (result.Provider, result.Source, result.Attempts));
        Assert.Equal(1, _f.Producer.ResultCount(request.RequestId));
        Assert.Single(_f.Producer.Delays(request.RequestId));
        Assert.IsType<CompletionDelayed>(_f.Producer.Timeline(request.RequestId)[0]);
    }

    private async Task<RequestRow> WaitForStatusAsync(Guid requestId, string status) =>
        (await Eventually.ValueAsync(() => AuditDatabase.FindAsync(_db, requestId), row => row?.Status == status,
            TimeSpan.FromSeconds(30), $"request {requestId} to be {status}"))!;

    public async Task DisposeAsync()
    {
        _f.Sim.Clear();
        await _db.DisposeAsync();
    }
}
