using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using Worker.Chain;
using Worker.Contracts;
using Worker.DeadLetters;

namespace Worker.Audit;

/// <summary>What the start write found: when the request was received, the row's status after the write, and the stored result.</summary>
/// <param name="StoredResult">The result JSON an earlier delivery published (<c>requests.result</c>), when the row is terminal.</param>
public sealed record AuditStart(DateTimeOffset ReceivedAt, string Status, string? StoredResult = null)
{
    /// <summary>The row was already terminal: an earlier delivery finished this request (a parked one is not finished).</summary>
    public bool AlreadyCompleted => Status is RequestStatus.Succeeded or RequestStatus.Failed;
}

/// <summary>
/// The audit trail's write path: two writes per request, neither open while a provider is called.
/// <list type="number">
/// <item><see cref="StartAsync"/>: one upsert marks the request <c>in_progress</c> (received_at kept from the first delivery).</item>
/// <item><see cref="CompleteAsync"/>: one transaction writes the outcome and inserts every attempt row, before the
/// consumer publishes the result and acknowledges the message. A terminal row therefore means "done", and holds the
/// result as published: a redelivery or replay re-publishes it (<see cref="AuditStart.AlreadyCompleted"/>). A parked
/// outcome also writes its dead letter in the same transaction.</item>
/// </list>
/// Both writes are retried through PostgreSQL outages (<see cref="AuditWriteRetry"/>).
/// </summary>
public sealed class AuditTrail(
    NpgsqlDataSource database,
    IDbContextFactory<AuditDbContext> contexts,
    AuditRowBuilder rows,
    AuditWriteRetry retry,
    WorkerMetrics metrics,
    TimeProvider time,
    ILogger<AuditTrail> logger)
{
    // A terminal row stays terminal: a duplicate delivery must not make a finished request look in flight.
    private const string StartSql = $"""
        INSERT INTO requests (request_id, conversation_id, chain, status, received_at, fallback_used, attempt_count, metadata,
                              replay_count, prompt_hash, prompt)
        VALUES (@request_id, @conversation_id, @chain, @status, @received_at, FALSE, 0, @metadata, 0, @prompt_hash, @prompt)
        ON CONFLICT (request_id) DO UPDATE
        SET status = CASE WHEN requests.status IN ('{RequestStatus.Succeeded}', '{RequestStatus.Failed}') THEN requests.status ELSE excluded.status END
        RETURNING status, CASE WHEN status IN ('{RequestStatus.Succeeded}', '{RequestStatus.Failed}') THEN result::text END
        """;

    // Inserts when the start row is missing (a rejected request has none). The WHERE makes a retry idempotent: when
    // the first try committed but its acknowledgement was lost, the row already holds this completed_at and nothing is
    // written twice. Calls and cost add up across deliveries; the rest describes the latest outcome.
    private const string OutcomeSql = """
        INSERT INTO requests (request_id, conversation_id, chain, status, received_at, first_attempt_at, completed_at, provider, model,
                              fallback_used, attempt_count, input_tokens, output_tokens, estimated_cost_usd, failure_reason, error,
                              metadata, replay_count, prompt_hash, prompt, response_hash, response, result)
        VALUES (@request_id, @conversation_id, @chain, @status, @received_at, @first_attempt_at, @completed_at, @provider, @model,
                @fallback_used, @attempt_count, @input_tokens, @output_tokens, @estimated_cost_usd, @failure_reason, @error,
                @metadata, 0, @prompt_hash, @prompt, @response_hash, @response, @result)
        ON CONFLICT (request_id) DO UPDATE
        SET status = excluded.status,
            first_attempt_at = COALESCE(requests.first_attempt_at, excluded.first_attempt_at),
            completed_at = excluded.completed_at,
            provider = excluded.provider,
            model = excluded.model,
            fallback_used = excluded.fallback_used,
            attempt_count = requests.attempt_count + excluded.attempt_count,
            input_tokens = excluded.input_tokens,
            output_tokens = excluded.output_tokens,
            estimated_cost_usd = CASE WHEN requests.estimated_cost_usd IS NULL OR excluded.estimated_cost_usd IS NULL
                                      THEN COALESCE(requests.estimated_cost_usd, excluded.estimated_cost_usd)
                                      ELSE requests.estimated_cost_usd + excluded.estimated_cost_usd END,
            failure_reason = excluded.failure_reason,
            error = excluded.error,
            response_hash = excluded.response_hash,
            response = excluded.response,
            result = excluded.result
        WHERE requests.completed_at IS DISTINCT FROM excluded.completed_at
        """;

    // Parking again (a replay that failed the same way) reopens the request's one dead letter with the latest cause.
    private const string ParkSql = $"""
        INSERT INTO dead_letters (id, request_id, source, status, reason, error_class, provider, chain, group_key, error, message,
                                  first_parked_at, last_parked_at, park_count)
        VALUES (@id, @id, '{DeadLetterSource.Chain}', '{DeadLetterStatus.Parked}', @reason, @error_class, @provider, @chain, @group_key,
                @error, @message, @parked_at, @parked_at, 1)
        ON CONFLICT (id) DO UPDATE
        SET status = '{DeadLetterStatus.Parked}',
            reason = excluded.reason,
            error_class = excluded.error_class,
            provider = excluded.provider,
            chain = excluded.chain,
            group_key = excluded.group_key,
            error = excluded.error,
            message = excluded.message,
            last_parked_at = excluded.last_parked_at,
            park_count = dead_letters.park_count + 1,
            resolved_at = NULL,
            resolved_by = NULL
        """;

    /// <summary>Marks the request in progress. Throws <see cref="AuditUnavailableException"/> when PostgreSQL stays away: no provider is called then.</summary>
    public async Task<AuditStart> StartAsync(CompletionRequested request, CancellationToken cancellationToken)
    {
        var row = rows.Started(request, time.GetUtcNow());
        return await retry.RunAsync("start", request.RequestId, async token =>
        {
            await using var command = database.CreateCommand(StartSql);
            command.Parameters.AddRange(StartParameters(row));
            await using var reader = await command.ExecuteReaderAsync(token);
            await reader.ReadAsync(token);
            return new AuditStart(row.ReceivedAt, reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1));
        }, cancellationToken);
    }

    /// <summary>
    /// Commits the outcome, every attempt row and <paramref name="result"/> (the message about to be published); a
    /// dead-lettered <see cref="CompletionFailed"/> parks the request. Call it before publishing the result.
    /// </summary>
    public async Task CompleteAsync(CompletionRequested request, AuditStart start, ChainOutcome outcome, DateTimeOffset completedAt,
        object result, CancellationToken cancellationToken)
    {
        var row = rows.Completed(request, start.ReceivedAt, outcome, completedAt, result);
        var parked = row.Status == RequestStatus.Parked ? AuditRowBuilder.Parked(request, row) : null;
        metrics.Record(row);
        try
        {
            await WriteOutcomeAsync(row, parked, cancellationToken);
        }
        catch (Exception)
        {
            // The providers were paid: the log keeps what the row could not.
            Log.OutcomeNotRecorded(logger, row.RequestId, row.Status, row.FailureReason, row.Provider, row.Model, row.AttemptCount,
                row.InputTokens, row.OutputTokens, row.EstimatedCostUsd);
            throw;
        }
    }

    /// <summary>Records a request the validator refused, as failed with <c>invalid_request</c>, in one write.</summary>
    public async Task RejectAsync(CompletionRequested request, string problem, DateTimeOffset receivedAt, DateTimeOffset completedAt,
        CompletionFailed result, CancellationToken cancellationToken)
    {
        var row = rows.Rejected(request, problem, receivedAt, completedAt, result);
        metrics.Record(row);
        await WriteOutcomeAsync(row, null, cancellationToken);
    }

    private Task WriteOutcomeAsync(RequestRow row, DeadLetterRow? parked, CancellationToken cancellationToken) =>
        retry.RunAsync("outcome", row.RequestId, async token =>
        {
            await using var db = await contexts.CreateDbContextAsync(token);
            // One transaction of our own: no savepoint round trip around SaveChanges.
            db.Database.AutoSavepointsEnabled = false;
            await using var transaction = await db.Database.BeginTransactionAsync(token);
            var written = await db.Database.ExecuteSqlRawAsync(OutcomeSql, OutcomeParameters(row), token);
            if (written == 0)
            {
                Log.OutcomeAlreadyRecorded(logger, row.RequestId);
            }
            else
            {
                if (parked is not null)
                {
                    await db.Database.ExecuteSqlRawAsync(ParkSql, ParkParameters(parked), token);
                }

                if (row.Attempts.Count > 0)
                {
                    // A try whose commit failed may have left generated ids on the rows.
                    row.Attempts.ForEach(a => a.Id = 0);
                    db.Attempts.AddRange(row.Attempts);
                    await db.SaveChangesAsync(token);
                }
            }

            await transaction.CommitAsync(token);
            return written;
        }, cancellationToken);

    private static NpgsqlParameter[] StartParameters(RequestRow row) =>
    [
        Parameter("request_id", NpgsqlDbType.Uuid, row.RequestId),
        Parameter("conversation_id", NpgsqlDbType.Varchar, row.ConversationId),
        Parameter("chain", NpgsqlDbType.Varchar, row.Chain),
        Parameter("status", NpgsqlDbType.Varchar, row.Status),
        Parameter("received_at", NpgsqlDbType.TimestampTz, row.ReceivedAt),
        Parameter("metadata", NpgsqlDbType.Jsonb, row.Metadata is null ? null : MetadataJson.Write(row.Metadata)),
        Parameter("prompt_hash", NpgsqlDbType.Varchar, row.PromptHash),
        Parameter("prompt", NpgsqlDbType.Text, row.Prompt),
    ];

    private static NpgsqlParameter[] OutcomeParameters(RequestRow row) =>
    [
        Parameter("request_id", NpgsqlDbType.Uuid, row.RequestId),
        Parameter("conversation_id", NpgsqlDbType.Varchar, row.ConversationId),
        Parameter("chain", NpgsqlDbType.Varchar, row.Chain),
        Parameter("status", NpgsqlDbType.Varchar, row.Status),
        Parameter("received_at", NpgsqlDbType.TimestampTz, row.ReceivedAt),
        Parameter("first_attempt_at", NpgsqlDbType.TimestampTz, row.FirstAttemptAt),
        Parameter("completed_at", NpgsqlDbType.TimestampTz, row.CompletedAt),
        Parameter("provider", NpgsqlDbType.Varchar, row.Provider),
        Parameter("model", NpgsqlDbType.Varchar, row.Model),
        Parameter("fallback_used", NpgsqlDbType.Boolean, row.FallbackUsed),
        Parameter("attempt_count", NpgsqlDbType.Integer, row.AttemptCount),
        Parameter("input_tokens", NpgsqlDbType.Integer, row.InputTokens),
        Parameter("output_tokens", NpgsqlDbType.Integer, row.OutputTokens),
        Parameter("estimated_cost_usd", NpgsqlDbType.Numeric, row.EstimatedCostUsd),
        Parameter("failure_reason", NpgsqlDbType.Varchar, row.FailureReason),
        Parameter("error", NpgsqlDbType.Text, row.Error),
        Parameter("metadata", NpgsqlDbType.Jsonb, row.Metadata is null ? null : MetadataJson.Write(row.Metadata)),
        Parameter("prompt_hash", NpgsqlDbType.Varchar, row.PromptHash),
        Parameter("prompt", NpgsqlDbType.Text, row.Prompt),
        Parameter("response_hash", NpgsqlDbType.Varchar, row.ResponseHash),
        Parameter("response", NpgsqlDbType.Text, row.Response),
        Parameter("result", NpgsqlDbType.Jsonb, row.Result),
    ];

    private static NpgsqlParameter[] ParkParameters(DeadLetterRow parked) =>
    [
        Parameter("id", NpgsqlDbType.Uuid, parked.Id),
        Parameter("reason", NpgsqlDbType.Varchar, parked.Reason),
        Parameter("error_class", NpgsqlDbType.Varchar, parked.ErrorClass),
        Parameter("provider", NpgsqlDbType.Varchar, parked.Provider),
        Parameter("chain", NpgsqlDbType.Varchar, parked.Chain),
        Parameter("group_key", NpgsqlDbType.Varchar, parked.GroupKey),
        Parameter("error", NpgsqlDbType.Text, parked.Error),
        Parameter("message", NpgsqlDbType.Jsonb, parked.Message),
        Parameter("parked_at", NpgsqlDbType.TimestampTz, parked.LastParkedAt),
    ];

    private static NpgsqlParameter Parameter(string name, NpgsqlDbType type, object? value) =>
        new(name, type) { Value = value ?? DBNull.Value };
}
