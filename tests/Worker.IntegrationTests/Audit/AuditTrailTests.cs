using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Worker.Audit;
using Worker.Chain;
using Worker.Contracts;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Providers;
using Worker.Requests;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Audit;

/// <summary>
/// The audit trail end to end: a producer publishes, the worker calls the simulator, and the rows in PostgreSQL tell
/// what happened. The outcome row is committed before the result is published, so it is there once the result is.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class AuditTrailTests(PipelineFixture fixture) : IAsyncLifetime
{
    private readonly PipelineFixture _f = fixture;
    private readonly NpgsqlDataSource _db = NpgsqlDataSource.Create(TestEnvironment.Postgres);

    public Task InitializeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }

    private async Task<RequestRow> RowAsync(Guid requestId) =>
        await AuditDatabase.FindAsync(_db, requestId) ?? throw new Xunit.Sdk.XunitException($"no requests row for {requestId}");

    [Fact]
    public async Task Persistent_503_is_recorded_call_by_call_with_the_decision_after_each()
    {
        _f.Sim.SetProfile("gemini", FaultProfile.AlwaysFail("503"));
        var request = TestProducer.NewRequest();

        await _f.Producer.RequestAsync<CompletionSucceeded>(request);
        var row = await RowAsync(request.RequestId);

        Assert.Equal(RequestStatus.Succeeded, row.Status);
        Assert.True(row.FallbackUsed);
        Assert.Equal(("openai", "o3-mini"), (row.Provider, row.Model));
        Assert.Equal(4, row.AttemptCount);
        Assert.NotNull(row.CompletedAt);
        Assert.Equal(["gemini", "gemini", "gemini", "openai"], row.Attempts.Select(a => a.Provider));
        Assert.Equal(["retried", "retried", "fell_back", "answered"], row.Attempts.Select(a => a.Decision));
        Assert.Equal(["server", "server", "server", null], row.Attempts.Select(a => a.ErrorClass));
        Assert.Equal([503, 503, 503, null], row.Attempts.Select(a => a.HttpStatus));
        Assert.All(row.Attempts.Take(2), a => Assert.NotNull(a.WaitMs));
        var answer = row.Attempts[^1];
        Assert.Equal("ok", answer.Outcome);
        Assert.True(answer.InputTokens > 0 && answer.OutputTokens > 0);
        Assert.NotNull(answer.CostUsd);
        Assert.Equal(answer.CostUsd, row.EstimatedCostUsd);
        Assert.Equal((answer.InputTokens, answer.OutputTokens), (row.InputTokens, row.OutputTokens));
        Assert.All(row.Attempts, a => Assert.True(a.EndedAt >= a.StartedAt && a.LatencyMs >= 0));
    }

    [Fact]
    public async Task Healthy_request_has_one_row_one_attempt_and_hashes_but_no_text_by_default()
    {
        var request = TestProducer.NewRequest("What is the capital of France?");

        var result = await _f.Producer.RequestAsync<CompletionSucceeded>(request);
        var row = await RowAsync(request.RequestId);

        Assert.Equal(RequestStatus.Succeeded, row.Status);
        Assert.False(row.FallbackUsed);
        Assert.Equal(request.ConversationId, row.ConversationId);
        Assert.Equal(ChainsOptions.DefaultChain, row.Chain);
        var attempt = Assert.Single(row.Attempts);
        Assert.Equal(("gemini", "gemini-2.5-pro", "answered", 1), (attempt.Provider, attempt.Model, attempt.Decision, attempt.Attempt));
        Assert.True(row.EstimatedCostUsd > 0);
        Assert.True(row.ReceivedAt <= row.FirstAttemptAt && row.FirstAttemptAt <= row.CompletedAt);

        // Audit:PromptStorage defaults to HashOnly: PII stays out of the database.
        Assert.Equal(AuditText.Sha256Hex(AuditText.PromptJson(request.Messages)!), row.PromptHash);
        Assert.Null(row.Prompt);
        Assert.Equal(AuditText.Sha256Hex(result.Text), row.ResponseHash);
        Assert.Null(row.Response);
    }

    [Fact]
    public async Task Metadata_is_stored_as_a_jsonb_object()
    {
        var request = TestProducer.NewRequest();

        await _f.Producer.RequestAsync<CompletionSucceeded>(request);

        await using var command = _db.CreateCommand("SELECT jsonb_typeof(metadata), metadata->>'tenant' FROM requests WHERE request_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = request.RequestId });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(("object", "acme"), (reader.GetString(0), reader.GetString(1)));
        Assert.Equal("acme", (await RowAsync(request.RequestId)).Metadata!["tenant"]);
    }

    [Fact]
    public async Task Invalid_request_gets_a_failed_row_with_the_reason_and_no_attempt()
    {
        var request = TestProducer.NewRequest() with { Temperature = 7 };

        await _f.Producer.RequestAsync<CompletionFailed>(request);
        var row = await RowAsync(request.RequestId);

        Assert.Equal(RequestStatus.Failed, row.Status);
        Assert.Equal(FailureReasons.InvalidRequest, row.FailureReason);
        Assert.Contains("temperature", row.Error);
        Assert.Equal(0, row.AttemptCount);
        Assert.Empty(row.Attempts);
        Assert.NotNull(row.CompletedAt);
    }

    [Fact]
    public async Task Exhausted_chain_is_a_parked_row_ending_with_gave_up_with_its_result_stored()
    {
        _f.Sim.SetProfile("gemini", FaultProfile.AlwaysFail("503"));
        _f.Sim.SetProfile("openai", FaultProfile.AlwaysFail("502"));
        var request = TestProducer.NewRequest();

        var result = await _f.Producer.RequestAsync<CompletionFailed>(request);
        var row = await RowAsync(request.RequestId);

        Assert.Equal(RequestStatus.Parked, row.Status);
        Assert.Equal(StoredJson.Result(result), StoredJson.Result(StoredJson.ReadResult(RequestStatus.Failed, row.Result)!));
        Assert.Equal(FailureReasons.ProvidersExhausted, row.FailureReason);
        Assert.Equal(("openai", 7), (row.Provider, row.AttemptCount));
        // The chain's own calls, then the last chance: one more call on each step before the request fails.
        Assert.Equal(["retried", "retried", "fell_back", "retried", "gave_up", "gave_up", "gave_up"], row.Attempts.Select(a => a.Decision));
        Assert.Equal([null, null, null, null, null, "last chance", "last chance"],
            row.Attempts.Select(a => a.Note == "last chance" ? a.Note : null));
        Assert.Null(row.EstimatedCostUsd);
    }

    [Fact]
    public async Task Outcome_write_retried_after_a_lost_commit_acknowledgement_writes_nothing_twice()
    {
        var audit = _f.Worker.Services.GetRequiredService<RequestLifecycle>();
        var request = TestProducer.NewRequest();
        var now = DateTimeOffset.UtcNow;
        var outcome = new ChainOutcome(null, null, FailureReasons.ProvidersExhausted, "down",
        [
            new AttemptRecord(0, "gemini", "gemini-2.5-pro", 1, now, now.AddMilliseconds(5), true, ErrorClass.Server, 503, null,
                Decision.GaveUp, null, null, null, "HTTP 503", "no step left"),
        ]);

        RequestResult result = Worker.Messaging.Results.Failed(request, FailureReasons.ProvidersExhausted, "down", 1, now.AddMilliseconds(6));

        var claim = await audit.ClaimAsync(request, CancellationToken.None);
        Assert.Equal(ClaimOutcome.Claimed, claim.Outcome);
        Assert.Same(result, await audit.CompleteAsync(request, claim, outcome, now.AddMilliseconds(6), result, CancellationToken.None));
        // The same write again, as the retry loop does when a commit succeeded but its answer was lost.
        var again = await audit.CompleteAsync(request, claim, outcome, now.AddMilliseconds(6), result, CancellationToken.None);
        Assert.Equal(StoredJson.Result(result), StoredJson.Result(again));
        var row = await RowAsync(request.RequestId);

        Assert.Equal(1, row.AttemptCount);
        Assert.Single(row.Attempts);
        Assert.Equal(RequestStatus.Failed, row.Status);
        Assert.Null(row.ClaimToken);
        // A later delivery's claim keeps the terminal status: a finished request never looks in flight again.
        var later = await audit.ClaimAsync(request, CancellationToken.None);
        Assert.Equal(ClaimOutcome.Finished, later.Outcome);
        Assert.Equal(StoredJson.Result(result), StoredJson.Result(StoredJson.ReadResult(later.PreviousStatus, later.StoredResult)!));
        Assert.Equal(RequestStatus.Failed, (await RowAsync(request.RequestId)).Status);
    }

    public async Task DisposeAsync()
    {
        _f.Sim.Clear();
        await _db.DisposeAsync();
    }
}
