using Npgsql;
using NpgsqlTypes;
using Worker.Contracts;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Requests;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Messaging;

/// <summary>
/// One request id, one provider run, one recorded outcome: concurrent duplicate deliveries do not call providers, a
/// claim held by another instance is waited out (durably) until its lease lapses, and every result a producer sees for
/// a request carries the same message id.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class IdempotencyTests(PipelineFixture fixture) : IAsyncLifetime
{
    private readonly PipelineFixture _f = fixture;
    private readonly NpgsqlDataSource _db = NpgsqlDataSource.Create(TestEnvironment.Postgres);

    public Task InitializeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_same_request_published_three_times_at_once_costs_one_call_and_records_one_outcome()
    {
        // Slow enough that the three deliveries overlap.
        _f.Sim.SetProfile("gemini", new FaultProfile { LatencyMs = 1000 });
        var request = TestProducer.NewRequest($"say it once {Guid.NewGuid():N}");

        await Task.WhenAll(_f.Producer.PublishAsync(request), _f.Producer.PublishAsync(request), _f.Producer.PublishAsync(request));
        var first = Assert.IsType<CompletionSucceeded>(await _f.Producer.WaitForResultAsync(request.RequestId));
        // The duplicates wait on the running delivery's claim; its outcome makes them re-publish the stored result at once.
        // Settled: every delivery consumed (the duplicates' re-sent copies too), no deferral left, every result received.
        await Eventually.TrueAsync(async () => await DeferredRowsAsync(request.RequestId) == 0 && _f.Traffic.Consumed(request.RequestId) >= 3
            && _f.Traffic.Settled([request.RequestId], _f.Producer), TestEnvironment.ResultTimeout, "the duplicates to be answered from the stored outcome");

        Assert.Equal(1, _f.Sim.GetCounters("gemini").Total);
        var row = await AuditDatabase.FindAsync(_db, request.RequestId);
        Assert.Equal((RequestStatus.Succeeded, 1), (row!.Status, row.AttemptCount));
        Assert.Equal("answered", Assert.Single(row.Attempts).Decision);
        Assert.Null(row.ClaimToken);
        var results = _f.Producer.Results(request.RequestId);
        Assert.InRange(results.Count, 1, 3);
        Assert.All(results, r => Assert.Equal(first.CompletedAt, Assert.IsType<CompletionSucceeded>(r).CompletedAt));
        Assert.All(_f.Producer.MessageIds(request.RequestId), id => Assert.Equal(RequestResult.MessageId(request.RequestId), id));
        Assert.Equal(0, await DeferredRowsAsync(request.RequestId));
    }

    [Fact]
    public async Task A_claim_held_elsewhere_is_waited_out_without_a_call_and_taken_over_once_its_lease_lapses()
    {
        var request = TestProducer.NewRequest($"claimed by a crashed instance {Guid.NewGuid():N}");
        // Far longer than the test: the test lapses it itself once it has seen the delivery wait.
        var leaseUntil = DateTimeOffset.UtcNow.AddMinutes(10);
        await using (var claim = _db.CreateCommand("""
            INSERT INTO requests (request_id, chain, status, received_at, fallback_used, attempt_count, replay_count, payload_hash, claimed_by, claim_token, lease_until)
            VALUES ($1, 'default', 'in_progress', now(), FALSE, 0, 0, $2, 'crashed-instance/1', $3, $4)
            """))
        {
            claim.Parameters.Add(new NpgsqlParameter { Value = request.RequestId });
            claim.Parameters.Add(new NpgsqlParameter { Value = PayloadHash.Of(request) });
            claim.Parameters.Add(new NpgsqlParameter { Value = Guid.NewGuid() });
            claim.Parameters.Add(new NpgsqlParameter { Value = leaseUntil, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            await claim.ExecuteNonQueryAsync();
        }

        await _f.Producer.PublishAsync(request);
        // The delivery was consumed while the lease is live: it called nobody and left a row that looks again later.
        await Eventually.TrueAsync(async () => _f.Traffic.Consumed(request.RequestId) == 1 && await DeferredRowsAsync(request.RequestId) == 1,
            TestEnvironment.ResultTimeout, "the delivery to wait for the lease");
        Assert.Equal(0, _f.Sim.GetCounters().Total);
        Assert.Equal(0, _f.Producer.ResultCount(request.RequestId));

        // The crashed instance's lease lapses, and the waiting row's look comes due.
        await using (var lapse = _db.CreateCommand("""
            UPDATE requests SET lease_until = now() - interval '1 second' WHERE request_id = $1;
            """))
        {
            lapse.Parameters.Add(new NpgsqlParameter { Value = request.RequestId });
            await lapse.ExecuteNonQueryAsync();
        }

        await using (var due = _db.CreateCommand("UPDATE deferred_requests SET resume_at = now() WHERE request_id = $1"))
        {
            due.Parameters.Add(new NpgsqlParameter { Value = request.RequestId });
            await due.ExecuteNonQueryAsync();
        }

        var result = Assert.IsType<CompletionSucceeded>(await _f.Producer.WaitForResultAsync(request.RequestId));
        Assert.Equal(1, result.Attempts);
        Assert.Equal(1, _f.Sim.GetCounters("gemini").Total);
        Assert.Equal(1, _f.Producer.ResultCount(request.RequestId));
        Assert.Equal(RequestStatus.Succeeded, (await AuditDatabase.FindAsync(_db, request.RequestId))!.Status);
    }

    [Fact]
    public async Task A_reused_request_id_with_another_payload_is_refused_and_the_stored_request_is_left_alone()
    {
        var original = TestProducer.NewRequest($"the original {Guid.NewGuid():N}");
        var answered = await _f.Producer.RequestAsync<CompletionSucceeded>(original);

        await _f.Producer.PublishAsync(original with { Messages = [new ChatMessage("user", "something else entirely")] });
        var refused = Assert.IsType<CompletionFailed>((await _f.Producer.WaitForResultsAsync(original.RequestId, 2))[1]);

        Assert.Equal((FailureReasons.InvalidRequest, 0), (refused.Reason, refused.Attempts));
        Assert.Contains($"requestId {original.RequestId} was already used for a different request", refused.Error);
        Assert.NotEqual(RequestResult.MessageId(original.RequestId), _f.Producer.MessageIds(original.RequestId)[1]);
        Assert.Equal(1, _f.Sim.GetCounters().Total);
        var row = await AuditDatabase.FindAsync(_db, original.RequestId);
        Assert.Equal((RequestStatus.Succeeded, 1), (row!.Status, row.AttemptCount));
        Assert.Equal(answered.CompletedAt, Assert.IsType<RequestResult.Succeeded>(StoredJson.ReadResult(row.Status, row.Result)).Message.CompletedAt);

        // The original delivered again still gets its own stored result.
        await _f.Producer.PublishAsync(original with { Metadata = new Dictionary<string, string> { ["retry"] = "1" } });
        var again = Assert.IsType<CompletionSucceeded>((await _f.Producer.WaitForResultsAsync(original.RequestId, 3))[2]);
        Assert.Equal(answered.Text, again.Text);
        Assert.Equal(1, _f.Sim.GetCounters().Total);
    }

    private async Task<long> DeferredRowsAsync(Guid requestId)
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
