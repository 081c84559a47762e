using Npgsql;
using NpgsqlTypes;
using Worker.Persistence;

namespace Worker.Requests;

/// <summary>
/// The outcomes of requests whose claim is still held, many in one transaction: the request rows, every attempt row
/// and the end of any deferral, in three round trips for the whole batch. An outcome whose claim is gone (its lease
/// lapsed and another delivery took the request, or an earlier try of this write committed) is left to the
/// one-request path of <see cref="RequestLifecycle"/>, which reads what is stored and decides. Parked outcomes never come
/// here: parking also writes a dead letter, which only <c>DeadLetters/</c> writes.
/// </summary>
internal static class OutcomeBatch
{
    // The claim token is the guard: only the delivery holding the claim writes through this path. Calls and cost add up
    // across deliveries, as in the one-request write.
    private static readonly string OutcomeSql = $"""
        UPDATE requests r
        SET {OutcomeAssignments("r", "o")},
            claimed_by = NULL,
            claim_token = NULL,
            lease_until = NULL
        FROM unnest(@request_id, @claim_token, @status, @first_attempt_at, @completed_at, @provider, @model, @fallback_used, @attempt_count,
                    @input_tokens, @output_tokens, @estimated_cost_usd, @failure_reason, @error, @response_hash, @response, @result, @route, @tenant)
             AS o(request_id, claim_token, status, first_attempt_at, completed_at, provider, model, fallback_used, attempt_count,
                  input_tokens, output_tokens, estimated_cost_usd, failure_reason, error, response_hash, response, result, route, tenant)
        WHERE r.request_id = o.request_id AND r.claim_token = o.claim_token
          AND r.status NOT IN ('{RequestStatus.Succeeded}', '{RequestStatus.Failed}', '{RequestStatus.Parked}')
        RETURNING r.request_id
        """;

    /// <summary>
    /// The columns an outcome sets, from <paramref name="incoming"/> onto <paramref name="row"/>: shared with the
    /// one-request upsert, so both paths write an outcome alike. Calls and cost add up across deliveries.
    /// </summary>
    internal static string OutcomeAssignments(string row, string incoming) => $"""
        status = {incoming}.status,
            first_attempt_at = COALESCE({row}.first_attempt_at, {incoming}.first_attempt_at),
            completed_at = {incoming}.completed_at,
            provider = {incoming}.provider,
            model = {incoming}.model,
            fallback_used = {incoming}.fallback_used,
            attempt_count = {row}.attempt_count + {incoming}.attempt_count,
            input_tokens = {incoming}.input_tokens,
            output_tokens = {incoming}.output_tokens,
            estimated_cost_usd = CASE WHEN {row}.estimated_cost_usd IS NULL OR {incoming}.estimated_cost_usd IS NULL
                                      THEN COALESCE({row}.estimated_cost_usd, {incoming}.estimated_cost_usd)
                                      ELSE {row}.estimated_cost_usd + {incoming}.estimated_cost_usd END,
            failure_reason = {incoming}.failure_reason,
            error = {incoming}.error,
            response_hash = {incoming}.response_hash,
            response = {incoming}.response,
            result = {incoming}.result,
            route = COALESCE({incoming}.route, {row}.route),
            tenant = COALESCE({incoming}.tenant, {row}.tenant)
        """;

    private const string AttemptsSql = """
        INSERT INTO attempts (request_id, step_index, provider, model, attempt, started_at, ended_at, latency_ms, call_made, outcome,
                              error_class, http_status, retry_after_ms, decision, wait_ms, note, detail, input_tokens, output_tokens, cost_usd)
        SELECT * FROM unnest(@request_id, @step_index, @provider, @model, @attempt, @started_at, @ended_at, @latency_ms, @call_made, @outcome,
                             @error_class, @http_status, @retry_after_ms, @decision, @wait_ms, @note, @detail, @input_tokens, @output_tokens, @cost_usd)
        """;

    // As in the one-request write: the lock first (a release job that has just re-sent the request commits "released"
    // before this reads it), then the deferral ends; a waiting row (a duplicate delivery waiting on this run) is made
    // due now, so it re-publishes the stored result at once.
    private static readonly string[] EndDeferralSql =
    [
        "SELECT 1 FROM deferred_requests WHERE request_id = ANY(@request_id) ORDER BY request_id FOR UPDATE",
        $"DELETE FROM deferred_requests WHERE request_id = ANY(@request_id) AND state <> '{DeferralState.Waiting}'",
        $"""
        UPDATE deferred_requests d SET resume_at = due.completed_at
        FROM unnest(@request_id, @completed_at) AS due(request_id, completed_at)
        WHERE d.request_id = due.request_id AND d.state = '{DeferralState.Waiting}'
        """,
    ];

    /// <summary>One outcome to write: the row with its attempts, under the claim its delivery holds.</summary>
    public sealed record Item(RequestRow Row, Guid ClaimToken);

    /// <summary>Writes the outcomes whose claim is still held; answers true for each written, false for one left to its caller.</summary>
    public static async Task<IReadOnlyList<bool>> WriteAsync(NpgsqlDataSource database, IReadOnlyList<Item> items, CancellationToken cancellationToken)
    {
        var ordered = items.OrderBy(i => i.Row.RequestId).ToList();
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        var written = new HashSet<Guid>();
        await using (var update = OutcomeCommand(connection, ordered))
        await using (var reader = await update.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                written.Add(reader.GetGuid(0));
            }
        }

        if (written.Count > 0)
        {
            // The attempts of the rows written: paid calls. A row the batch skipped takes its attempts to its own write.
            var done = ordered.Where(i => written.Contains(i.Row.RequestId)).Select(i => i.Row).ToList();
            await using var batch = new NpgsqlBatch(connection);
            var attempts = done.SelectMany(r => r.Attempts).ToList();
            if (attempts.Count > 0)
            {
                batch.BatchCommands.Add(AttemptsCommand(attempts));
            }

            foreach (var sql in EndDeferralSql)
            {
                var command = new NpgsqlBatchCommand(sql);
                command.Parameters.Add(Sql.Array("request_id", NpgsqlDbType.Uuid, done, r => r.RequestId));
                command.Parameters.Add(Sql.Array("completed_at", NpgsqlDbType.TimestampTz, done, r => r.CompletedAt));
                batch.BatchCommands.Add(command);
            }

            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return items.Select(i => written.Contains(i.Row.RequestId)).ToList();
    }

    private static NpgsqlCommand OutcomeCommand(NpgsqlConnection connection, List<Item> items)
    {
        var rows = items.Select(i => i.Row).ToList();
        var command = new NpgsqlCommand(OutcomeSql, connection);
        var p = command.Parameters;
        p.Add(Sql.Array("request_id", NpgsqlDbType.Uuid, rows, r => r.RequestId));
        p.Add(Sql.Array("claim_token", NpgsqlDbType.Uuid, items, i => i.ClaimToken));
        p.Add(Sql.Array("status", NpgsqlDbType.Text, rows, r => r.Status));
        p.Add(Sql.Array("first_attempt_at", NpgsqlDbType.TimestampTz, rows, r => r.FirstAttemptAt));
        p.Add(Sql.Array("completed_at", NpgsqlDbType.TimestampTz, rows, r => r.CompletedAt));
        p.Add(Sql.Array("provider", NpgsqlDbType.Text, rows, r => r.Provider));
        p.Add(Sql.Array("model", NpgsqlDbType.Text, rows, r => r.Model));
        p.Add(Sql.Array("fallback_used", NpgsqlDbType.Boolean, rows, r => r.FallbackUsed));
        p.Add(Sql.Array("attempt_count", NpgsqlDbType.Integer, rows, r => r.AttemptCount));
        p.Add(Sql.Array("input_tokens", NpgsqlDbType.Integer, rows, r => r.InputTokens));
        p.Add(Sql.Array("output_tokens", NpgsqlDbType.Integer, rows, r => r.OutputTokens));
        p.Add(Sql.Array("estimated_cost_usd", NpgsqlDbType.Numeric, rows, r => r.EstimatedCostUsd));
        p.Add(Sql.Array("failure_reason", NpgsqlDbType.Text, rows, r => r.FailureReason));
        p.Add(Sql.Array("error", NpgsqlDbType.Text, rows, r => r.Error));
        p.Add(Sql.Array("response_hash", NpgsqlDbType.Text, rows, r => r.ResponseHash));
        p.Add(Sql.Array("response", NpgsqlDbType.Text, rows, r => r.Response));
        p.Add(Sql.Array("result", NpgsqlDbType.Jsonb, rows, r => r.Result));
        p.Add(Sql.Array("route", NpgsqlDbType.Jsonb, rows, r => r.Route));
        p.Add(Sql.Array("tenant", NpgsqlDbType.Text, rows, r => r.Tenant));
        return command;
    }

    private static NpgsqlBatchCommand AttemptsCommand(List<AttemptRow> attempts)
    {
        var command = new NpgsqlBatchCommand(AttemptsSql);
        var p = command.Parameters;
        p.Add(Sql.Array("request_id", NpgsqlDbType.Uuid, attempts, a => a.RequestId));
        p.Add(Sql.Array("step_index", NpgsqlDbType.Integer, attempts, a => a.StepIndex));
        p.Add(Sql.Array("provider", NpgsqlDbType.Text, attempts, a => a.Provider));
        p.Add(Sql.Array("model", NpgsqlDbType.Text, attempts, a => a.Model));
        p.Add(Sql.Array("attempt", NpgsqlDbType.Integer, attempts, a => a.Attempt));
        p.Add(Sql.Array("started_at", NpgsqlDbType.TimestampTz, attempts, a => a.StartedAt));
        p.Add(Sql.Array("ended_at", NpgsqlDbType.TimestampTz, attempts, a => a.EndedAt));
        p.Add(Sql.Array("latency_ms", NpgsqlDbType.Integer, attempts, a => a.LatencyMs));
        p.Add(Sql.Array("call_made", NpgsqlDbType.Boolean, attempts, a => a.CallMade));
        p.Add(Sql.Array("outcome", NpgsqlDbType.Text, attempts, a => a.Outcome));
        p.Add(Sql.Array("error_class", NpgsqlDbType.Text, attempts, a => a.ErrorClass));
        p.Add(Sql.Array("http_status", NpgsqlDbType.Integer, attempts, a => a.HttpStatus));
        p.Add(Sql.Array("retry_after_ms", NpgsqlDbType.Integer, attempts, a => a.RetryAfterMs));
        p.Add(Sql.Array("decision", NpgsqlDbType.Text, attempts, a => a.Decision));
        p.Add(Sql.Array("wait_ms", NpgsqlDbType.Integer, attempts, a => a.WaitMs));
        p.Add(Sql.Array("note", NpgsqlDbType.Text, attempts, a => a.Note));
        p.Add(Sql.Array("detail", NpgsqlDbType.Text, attempts, a => a.Detail));
        p.Add(Sql.Array("input_tokens", NpgsqlDbType.Integer, attempts, a => a.InputTokens));
        p.Add(Sql.Array("output_tokens", NpgsqlDbType.Integer, attempts, a => a.OutputTokens));
        p.Add(Sql.Array("cost_usd", NpgsqlDbType.Numeric, attempts, a => a.CostUsd));
        return command;
    }
}
