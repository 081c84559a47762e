using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Worker.Audit;
using Worker.Chain;
using Worker.Contracts;
using Worker.Metrics;
using Worker.Persistence;
using Worker.ProviderHealth;
using Worker.Telemetry;

namespace Worker.Requests;

/// <summary>
/// The audit trail's write path, and with it the request's idempotency: two writes per delivery, neither open while a
/// provider is called.
/// <list type="number">
/// <item><see cref="ClaimAsync"/>: the delivery claims the request (<c>in_progress</c>, its token, a lease renewed by
/// <see cref="ClaimLeases"/>), or learns it must not run it: finished (re-publish the stored result), another payload
/// under the same id (refuse), running elsewhere or deferred (a deferred_requests row will deliver it again).</item>
/// <item><see cref="CompleteAsync"/>: one transaction writes the outcome and every attempt row before the consumer
/// publishes the result and acknowledges the message. The first outcome wins: a terminal row is never overwritten, and
/// a later writer publishes what is stored. A parked outcome writes its dead letter in the same transaction. Or
/// <see cref="DeferAsync"/>: the attempts so far, the row <c>deferred</c>, and the deferred_requests row that resumes
/// it, in one transaction.</item>
/// </list>
/// Every write is retried through PostgreSQL outages (<see cref="WriteRetry"/>).
/// </summary>
public sealed class RequestLifecycle(
    NpgsqlDataSource database,
    IDbContextFactory<AuditDbContext> contexts,
    AuditRowBuilder rows,
    WriteRetry retry,
    RequestWrites batches,
    DatabaseGate gate,
    WorkerMetrics metrics,
    IParking parking,
    IOptions<ClaimLeaseOptions> leases,
    IOptions<ProviderHealthOptions> health,
    TimeProvider time,
    ILogger<RequestLifecycle> logger) : IRequestLifecycle
{
    // The lock order is requests, then deferred_requests, everywhere a transaction takes both.
    private const string LockRowSql = """
        SELECT status, claim_token, lease_until, payload_hash, result::text, received_at, replay_count, now() FROM requests WHERE request_id = @request_id FOR UPDATE
        """;

    // Waits for the release job's transaction when it has just re-published this request, and then sees "released".
    private const string LockDeferralSql = """
        SELECT state, resume_at, step_index, attempt, calls, deferral_started_at, cost_usd, route::text FROM deferred_requests WHERE request_id = @request_id FOR UPDATE
        """;

    private const string TakeClaimSql = $"""
        UPDATE requests SET status = '{RequestStatus.InProgress}', claimed_by = @claimed_by, claim_token = @claim_token, lease_until = now() + @lease,
                            payload_hash = COALESCE(payload_hash, @payload_hash)
        WHERE request_id = @request_id;
        UPDATE deferred_requests SET state = '{DeferralState.Running}' WHERE request_id = @request_id
        """;

    private const string ForgetDeferralSql = "DELETE FROM deferred_requests WHERE request_id = @request_id";

    // A duplicate delivery while another holds the claim: look again once that lease has ended. A row the claimant
    // resumed from (running) keeps its position, so a crash of the claimant resumes where it started.
    private const string WaitForLeaseSql = $"""
        INSERT INTO deferred_requests (request_id, state, kind, resume_at, step_index, attempt, calls, deferral_started_at, deferred_at,
                                       defer_count, reason, message)
        VALUES (@request_id, '{DeferralState.Waiting}', '{DeferralKinds.InFlight}', @resume_at, 0, 1, 0, NULL, @now, 1, @reason, @message)
        ON CONFLICT (request_id) DO UPDATE
        SET state = '{DeferralState.Waiting}', kind = '{DeferralKinds.InFlight}', resume_at = excluded.resume_at, deferred_at = excluded.deferred_at,
            defer_count = deferred_requests.defer_count + 1, reason = excluded.reason, released_at = NULL
        """;

    // The first outcome wins: a succeeded, failed or parked row with a stored result is never overwritten (a rival delivery
    // whose lease had lapsed, a duplicate). The completed_at test makes a retry of the same write idempotent: when the
    // first try committed but its acknowledgement was lost, nothing is written twice. @overwrite is only for the
    // rejected requests without a request id, which share the all-zero row. Calls and cost add up across deliveries.
    private static readonly string OutcomeSql = $"""
        INSERT INTO requests (request_id, conversation_id, chain, status, received_at, first_attempt_at, completed_at, provider, model,
                              fallback_used, attempt_count, input_tokens, output_tokens, estimated_cost_usd, failure_reason, error,
                              metadata, replay_count, prompt_hash, prompt, response_hash, response, result, payload_hash, tenant, route)
        VALUES (@request_id, @conversation_id, @chain, @status, @received_at, @first_attempt_at, @completed_at, @provider, @model,
                @fallback_used, @attempt_count, @input_tokens, @output_tokens, @estimated_cost_usd, @failure_reason, @error,
                @metadata, 0, @prompt_hash, @prompt, @response_hash, @response, @result, @payload_hash, @tenant, @route)
        ON CONFLICT (request_id) DO UPDATE
        SET {OutcomeBatch.OutcomeAssignments("requests", "excluded")},
            payload_hash = COALESCE(requests.payload_hash, excluded.payload_hash),
            claimed_by = NULL,
            claim_token = NULL,
            lease_until = NULL
        WHERE @overwrite
           OR ((requests.status NOT IN ('{RequestStatus.Succeeded}', '{RequestStatus.Failed}', '{RequestStatus.Parked}') OR requests.result IS NULL)
               AND requests.completed_at IS DISTINCT FROM excluded.completed_at)
        """;

    // The outcome ends the request's deferral. A waiting row is a duplicate delivery waiting on this run: it is made
    // due now, so that delivery re-publishes the stored result at once.
    // The lock first: a release job that has just re-sent this request holds the row until it commits "released". Without
    // the wait, the delete would judge the row by its state before that commit, skip it, and leave a released row behind.
    private const string EndDeferralSql = $"""
        SELECT 1 FROM deferred_requests WHERE request_id = @request_id FOR UPDATE;
        DELETE FROM deferred_requests WHERE request_id = @request_id AND state <> '{DeferralState.Waiting}';
        UPDATE deferred_requests SET resume_at = @now WHERE request_id = @request_id AND state = '{DeferralState.Waiting}'
        """;

    private const string RejectSql = """
        INSERT INTO requests (request_id, conversation_id, chain, status, received_at, completed_at, fallback_used, attempt_count,
                              failure_reason, error, metadata, replay_count, prompt_hash, prompt, result, payload_hash, tenant)
        VALUES (@request_id, @conversation_id, @chain, @status, @received_at, @completed_at, FALSE, 0,
                @failure_reason, @error, @metadata, 0, @prompt_hash, @prompt, @result, @payload_hash, @tenant)
        ON CONFLICT (request_id) DO NOTHING
        """;

    private const string DeferRequestSql = $"""
        UPDATE requests
        SET status = '{RequestStatus.Deferred}', claimed_by = NULL, claim_token = NULL, lease_until = NULL,
            attempt_count = attempt_count + @calls, first_attempt_at = COALESCE(first_attempt_at, @first_attempt_at),
            route = COALESCE(@route, route), tenant = COALESCE(@tenant, tenant)
        WHERE request_id = @request_id AND claim_token = @claim_token
        """;

    private const string DeferSql = $"""
        INSERT INTO deferred_requests (request_id, state, kind, resume_at, step_index, attempt, calls, deferral_started_at, deferred_at,
                                       defer_count, reason, message, cost_usd, route)
        VALUES (@request_id, '{DeferralState.Waiting}', @kind, @resume_at, @step_index, @attempt, @calls, @deferral_started_at, @deferred_at,
                1, @reason, @message, @cost_usd, @route)
        ON CONFLICT (request_id) DO UPDATE
        SET state = '{DeferralState.Waiting}', kind = excluded.kind, resume_at = excluded.resume_at, step_index = excluded.step_index,
            attempt = excluded.attempt, calls = excluded.calls, cost_usd = excluded.cost_usd, route = excluded.route, deferral_started_at = excluded.deferral_started_at,
            deferred_at = excluded.deferred_at, defer_count = deferred_requests.defer_count + 1, reason = excluded.reason,
            message = excluded.message, released_at = NULL
        """;

    /// <summary>
    /// Claims the request for this delivery, or says why it must not run here. Waits for PostgreSQL while it is away: no
    /// provider is called before the claim is stored.
    /// </summary>
    public async Task<RequestClaim> ClaimAsync(CompletionRequested request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var token = Guid.NewGuid();
        var row = rows.Started(request, now);
        row.ClaimedBy = AuditText.Clean(health.Value.InstanceName, 128);
        row.ClaimToken = token;
        // The consume span this delivery runs under: kept by the insert only, so it is the first claim's.
        row.TraceParent = WorkerActivity.CurrentTraceParent();
        if (await batches.TryClaimNewAsync(row))
        {
            return new RequestClaim(ClaimOutcome.Claimed, token, row.ReceivedAt, RequestStatus.Received, ChainStart.Beginning);
        }

        // The request has a row already (a duplicate, a redelivery, a replay, a deferral coming back), or the batch failed.
        return await retry.RunAsync("claim", request.RequestId, async ct =>
        {
            await using var connection = await database.OpenConnectionAsync(ct);
            // The same insert as the batch's, for one row: a batch that failed left no row behind.
            if ((await ClaimBatch.WriteAsync(connection, leases.Value.ClaimLease, [row], ct))[0])
            {
                return new RequestClaim(ClaimOutcome.Claimed, token, row.ReceivedAt, RequestStatus.Received, ChainStart.Beginning);
            }

            await using var transaction = await connection.BeginTransactionAsync(ct);
            var existing = await ReadRowAsync(connection, request.RequestId, ct);
            var deferral = await ReadDeferralAsync(connection, request.RequestId, ct);
            // Leases are compared on the database's clock, never an instance's: clock skew cannot make a live lease look lapsed.
            var (outcome, write, detail) = ClaimRules.Decide(existing, deferral, row.PayloadHash!, token, existing.DatabaseNow);
            switch (write)
            {
                case ClaimWrite.Claim:
                    await using (var claim = new NpgsqlCommand(TakeClaimSql, connection))
                    {
                        claim.Parameters.AddRange(ClaimParameters(row, leases.Value.ClaimLease));
                        await claim.ExecuteNonQueryAsync(ct);
                    }

                    break;
                case ClaimWrite.ForgetDeferral:
                    await using (var forget = new NpgsqlCommand(ForgetDeferralSql, connection))
                    {
                        forget.Parameters.Add(Sql.Parameter("request_id", NpgsqlDbType.Uuid, request.RequestId));
                        await forget.ExecuteNonQueryAsync(ct);
                    }

                    break;
                case ClaimWrite.WaitForLease:
                    await using (var wait = new NpgsqlCommand(WaitForLeaseSql, connection))
                    {
                        // A little past the lease, so the look lands after it has lapsed rather than just before.
                        var resumeAt = existing.LeaseUntil!.Value + TimeSpan.FromSeconds(1);
                        wait.Parameters.Add(Sql.Parameter("request_id", NpgsqlDbType.Uuid, request.RequestId));
                        wait.Parameters.Add(Sql.Parameter("resume_at", NpgsqlDbType.TimestampTz, resumeAt));
                        wait.Parameters.Add(Sql.Parameter("now", NpgsqlDbType.TimestampTz, Sql.Micro(time.GetUtcNow())));
                        wait.Parameters.Add(Sql.Parameter("reason", NpgsqlDbType.Text, "a duplicate delivery waits for the claim of the delivery running it"));
                        wait.Parameters.Add(Sql.Parameter("message", NpgsqlDbType.Jsonb, StoredJson.Request(request)));
                        await wait.ExecuteNonQueryAsync(ct);
                    }

                    break;
            }

            await transaction.CommitAsync(ct);
            var start = outcome == ClaimOutcome.Claimed && deferral is not null ? deferral.Position : ChainStart.Beginning;
            return new RequestClaim(outcome, token, existing.ReceivedAt, existing.Status, start, existing.Result, detail, existing.ReplayCount);
        }, cancellationToken);
    }

    /// <summary>Renews the leases of the claims this instance holds; returns how many rows were renewed.</summary>
    public async Task<int> RenewLeasesAsync(IReadOnlyCollection<(Guid RequestId, Guid Token)> claims, CancellationToken cancellationToken)
    {
        if (claims.Count == 0)
        {
            return 0;
        }

        // SKIP LOCKED: a row locked now is being finished (an outcome batch) or read by a duplicate's claim; it needs no
        // renewal this round, and waiting for it while holding other rows' locks could deadlock with an outcome batch.
        await using var command = database.CreateCommand("""
            WITH held AS (
                SELECT r.request_id FROM requests r
                JOIN unnest(@ids, @tokens) AS h(request_id, claim_token) ON r.request_id = h.request_id AND r.claim_token = h.claim_token
                FOR UPDATE OF r SKIP LOCKED)
            UPDATE requests r SET lease_until = now() + @lease FROM held WHERE r.request_id = held.request_id
            """);
        command.Parameters.Add(Sql.Parameter("lease", NpgsqlDbType.Interval, leases.Value.ClaimLease));
        command.Parameters.Add(Sql.Parameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid, claims.Select(c => c.RequestId).ToArray()));
        command.Parameters.Add(Sql.Parameter("tokens", NpgsqlDbType.Array | NpgsqlDbType.Uuid, claims.Select(c => c.Token).ToArray()));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Gives the claim up without an outcome (shutdown, a failure on the way to the error queue), so a redelivery runs at
    /// once instead of waiting for the lease. Best effort: if it cannot be written, the lease lapses by itself.
    /// </summary>
    public async Task ReleaseAsync(Guid requestId, Guid token)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), time);
            using var slot = await gate.EnterAsync(timeout.Token);
            await using var command = database.CreateCommand(
                "UPDATE requests SET claimed_by = NULL, claim_token = NULL, lease_until = NULL WHERE request_id = @request_id AND claim_token = @claim_token");
            command.Parameters.Add(Sql.Parameter("request_id", NpgsqlDbType.Uuid, requestId));
            command.Parameters.Add(Sql.Parameter("claim_token", NpgsqlDbType.Uuid, token));
            await command.ExecuteNonQueryAsync(timeout.Token);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            Log.ClaimNotReleased(logger, requestId, e.Message);
        }
    }

    /// <summary>
    /// Commits the outcome, every attempt row and <paramref name="result"/> (the message about to be published); a
    /// dead-lettered <see cref="CompletionFailed"/> parks the request. Call it before publishing. Returns what to
    /// publish: <paramref name="result"/>, or the result another delivery stored first.
    /// </summary>
    public async Task<RequestResult> CompleteAsync(CompletionRequested request, RequestClaim claim, ChainOutcome outcome, DateTimeOffset completedAt,
        RequestResult result, CancellationToken cancellationToken)
    {
        var row = rows.Completed(request, claim.ReceivedAt, outcome, completedAt, result);
        var parked = row.Status == RequestStatus.Parked ? parking.Row(request, row) : null;
        try
        {
            if (parked is null && await batches.TryCompleteAsync(row, claim.Token))
            {
                metrics.Record(row);
                return result;
            }

            var stored = await WriteOutcomeAsync(row, parked, overwrite: false, cancellationToken);
            if (stored is null)
            {
                metrics.Record(row);
                return result;
            }

            Log.OutcomeStoredBefore(logger, row.RequestId, stored.Status);
            return StoredJson.ReadResult(stored.Status, stored.Result) ?? result;
        }
        catch (Exception)
        {
            // The providers were paid: the log keeps what the row could not.
            Log.OutcomeNotRecorded(logger, row.RequestId, row.Status, row.FailureReason, row.Provider, row.Model, row.AttemptCount,
                row.InputTokens, row.OutputTokens, row.EstimatedCostUsd);
            throw;
        }
    }

    /// <summary>
    /// Stores a deferred run: its attempts, the request row <c>deferred</c> (claim released) and the deferred_requests
    /// row that re-publishes it at the deferral's time, in one transaction. Returns false when this delivery had lost its
    /// claim meanwhile (its lease lapsed and another delivery took the request): only the attempts are kept then.
    /// </summary>
    public async Task<bool> DeferAsync(CompletionRequested request, RequestClaim claim, ChainOutcome outcome, CancellationToken cancellationToken)
    {
        var deferral = outcome.Deferral ?? throw new ArgumentException("The outcome is not a deferral", nameof(outcome));
        var deferredAt = Sql.Micro(time.GetUtcNow());
        var row = rows.Completed(request, claim.ReceivedAt, outcome, deferredAt);
        var message = StoredJson.Request(request);
        return await retry.RunAsync("deferral", request.RequestId, async ct =>
        {
            await using var db = await contexts.CreateDbContextAsync(ct);
            db.Database.AutoSavepointsEnabled = false;
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var connection = (NpgsqlConnection)db.Database.GetDbConnection();

            bool owned;
            await using (var update = new NpgsqlCommand(DeferRequestSql, connection))
            {
                update.Parameters.Add(Sql.Parameter("request_id", NpgsqlDbType.Uuid, request.RequestId));
                update.Parameters.Add(Sql.Parameter("claim_token", NpgsqlDbType.Uuid, claim.Token));
                update.Parameters.Add(Sql.Parameter("calls", NpgsqlDbType.Integer, outcome.CallCount));
                update.Parameters.Add(Sql.Parameter("first_attempt_at", NpgsqlDbType.TimestampTz, row.FirstAttemptAt));
                update.Parameters.Add(Sql.Parameter("route", NpgsqlDbType.Jsonb, row.Route));
                update.Parameters.Add(Sql.Parameter("tenant", NpgsqlDbType.Varchar, row.Tenant));
                owned = await update.ExecuteNonQueryAsync(ct) == 1;
            }

            // A retry of a write whose commit went through finds its own deferral (the claim is gone): nothing to do twice.
            if (!owned && await DeferredAtAsync(connection, request.RequestId, ct) == deferredAt)
            {
                return true;
            }

            if (owned)
            {
                await using var defer = new NpgsqlCommand(DeferSql, connection);
                defer.Parameters.Add(Sql.Parameter("request_id", NpgsqlDbType.Uuid, request.RequestId));
                defer.Parameters.Add(Sql.Parameter("kind", NpgsqlDbType.Varchar, deferral.Kind));
                defer.Parameters.Add(Sql.Parameter("resume_at", NpgsqlDbType.TimestampTz, Sql.Micro(deferral.ResumeAt)));
                defer.Parameters.Add(Sql.Parameter("step_index", NpgsqlDbType.Integer, deferral.StepIndex));
                defer.Parameters.Add(Sql.Parameter("attempt", NpgsqlDbType.Integer, deferral.Attempt));
                defer.Parameters.Add(Sql.Parameter("calls", NpgsqlDbType.Integer, outcome.TotalCalls));
                defer.Parameters.Add(Sql.Parameter("deferral_started_at", NpgsqlDbType.TimestampTz,
                    deferral.DeferralStartedAt.HasValue ? Sql.Micro(deferral.DeferralStartedAt.Value) : null));
                defer.Parameters.Add(Sql.Parameter("deferred_at", NpgsqlDbType.TimestampTz, deferredAt));
                defer.Parameters.Add(Sql.Parameter("reason", NpgsqlDbType.Text, AuditText.Clean(deferral.Reason)));
                defer.Parameters.Add(Sql.Parameter("message", NpgsqlDbType.Jsonb, message));
                defer.Parameters.Add(Sql.Parameter("cost_usd", NpgsqlDbType.Numeric, outcome.TotalCostUsd));
                defer.Parameters.Add(Sql.Parameter("route", NpgsqlDbType.Jsonb, row.Route));
                await defer.ExecuteNonQueryAsync(ct);
            }

            if (row.Attempts.Count > 0)
            {
                // Paid calls are recorded whoever owns the request now.
                row.Attempts.ForEach(a => a.Id = 0);
                db.Attempts.AddRange(row.Attempts);
                await db.SaveChangesAsync(ct);
            }

            await transaction.CommitAsync(ct);
            return owned;
        }, cancellationToken);
    }

    /// <summary>
    /// Records a request the validator refused, as failed with <c>invalid_request</c>, in one write that never touches
    /// an existing row. Returns what to publish and whether it is the request's result (its message id is the request's
    /// result id) or a refusal of this delivery only (another request holds the id).
    /// </summary>
    public async Task<(RequestResult Result, bool IsRequestResult)> RejectAsync(CompletionRequested request, string problem, DateTimeOffset receivedAt,
        DateTimeOffset completedAt, CompletionFailed result, CancellationToken cancellationToken)
    {
        var row = rows.Rejected(request, problem, receivedAt, completedAt, result);
        if (request.RequestId == Guid.Empty)
        {
            // No id to be idempotent on: the all-zero row keeps the latest such request for ops to see.
            await WriteOutcomeAsync(row, null, overwrite: true, cancellationToken);
            metrics.Record(row);
            return (result, true);
        }

        var (taken, existing) = await retry.RunAsync("outcome", row.RequestId, async ct =>
        {
            await using var connection = await database.OpenConnectionAsync(ct);
            await using (var insert = new NpgsqlCommand(RejectSql, connection))
            {
                insert.Parameters.AddRange(RejectParameters(row));
                if (await insert.ExecuteNonQueryAsync(ct) == 1)
                {
                    return (false, (ClaimedRow?)null);
                }
            }

            return (true, await ReadRowAsync(connection, request.RequestId, ct, locking: false));
        }, cancellationToken);
        if (!taken)
        {
            metrics.Record(row);
            return (result, true);
        }

        // The id is taken. The same refused request delivered again gets its stored result, and a deferral row left for
        // it is obsolete (it would send the request again and again).
        var samePayload = existing!.PayloadHash is null || existing.PayloadHash == row.PayloadHash;
        if (samePayload && StoredJson.ReadResult(existing.Status, existing.Result) is RequestResult.Failed stored)
        {
            await retry.RunAsync("outcome", row.RequestId, async ct =>
            {
                await using var forget = database.CreateCommand(ForgetDeferralSql);
                forget.Parameters.Add(Sql.Parameter("request_id", NpgsqlDbType.Uuid, request.RequestId));
                return await forget.ExecuteNonQueryAsync(ct);
            }, cancellationToken);
            return (stored, true);
        }

        // The request itself, unfinished and run by nobody, is refused now (its chain was removed while it was deferred, or a
        // replay was redirected to a chain that has gone since): this is its outcome, so that it is not left waiting forever.
        var runByNobody = existing.ClaimToken is null || existing.LeaseUntil <= existing.DatabaseNow;
        if (samePayload && !RequestStatus.IsTerminal(existing.Status) && runByNobody)
        {
            var lineage = OutcomeLineage.Of(request.RequestId, existing.ReplayCount, existing.Result);
            result = result with { ReplayCount = lineage.ReplayCount, Supersedes = lineage.Supersedes };
            row = rows.Rejected(request, problem, receivedAt, completedAt, result);
            var earlier = await WriteOutcomeAsync(row, null, overwrite: false, cancellationToken);
            if (earlier is null)
            {
                metrics.Record(row);
                return (result, true);
            }

            return (StoredJson.ReadResult(earlier.Status, earlier.Result) ?? result, true);
        }

        // Another payload holds the id, or a delivery is running it: only this delivery is refused.
        return (result, false);
    }

    /// <summary>The outcome transaction; null when written, else the row as stored (an earlier outcome won).</summary>
    private Task<ClaimedRow?> WriteOutcomeAsync(RequestRow row, DeadLetterRow? parked, bool overwrite, CancellationToken cancellationToken) =>
        retry.RunAsync("outcome", row.RequestId, async token =>
        {
            await using var db = await contexts.CreateDbContextAsync(token);
            // One transaction of our own: no savepoint round trip around SaveChanges.
            db.Database.AutoSavepointsEnabled = false;
            await using var transaction = await db.Database.BeginTransactionAsync(token);
            var written = await db.Database.ExecuteSqlRawAsync(OutcomeSql, OutcomeParameters(row, overwrite), token);
            ClaimedRow? stored = null;
            if (written == 0)
            {
                var connection = (NpgsqlConnection)db.Database.GetDbConnection();
                stored = await ReadRowAsync(connection, row.RequestId, token);
                var sameWrite = stored.Result is not null && await CompletedAtAsync(connection, row.RequestId, token) == row.CompletedAt;
                if (sameWrite)
                {
                    Log.OutcomeAlreadyRecorded(logger, row.RequestId);
                    await transaction.CommitAsync(token);
                    return null;
                }
            }
            else
            {
                if (parked is not null)
                {
                    await parking.ParkAsync(db.Database, parked, token);
                }

                await db.Database.ExecuteSqlRawAsync(EndDeferralSql,
                    [Sql.Parameter("request_id", NpgsqlDbType.Uuid, row.RequestId), Sql.Parameter("now", NpgsqlDbType.TimestampTz, row.CompletedAt)], token);
            }

            if (row.Attempts.Count > 0)
            {
                // A try whose commit failed may have left generated ids on the rows. A run that lost the race still
                // records its calls: they were paid for.
                row.Attempts.ForEach(a => a.Id = 0);
                db.Attempts.AddRange(row.Attempts);
                await db.SaveChangesAsync(token);
            }

            await transaction.CommitAsync(token);
            return stored;
        }, cancellationToken);

    private static async Task<ClaimedRow> ReadRowAsync(NpgsqlConnection connection, Guid requestId, CancellationToken cancellationToken, bool locking = true)
    {
        await using var command = new NpgsqlCommand(locking ? LockRowSql : LockRowSql.Replace("FOR UPDATE", "", StringComparison.Ordinal), connection);
        command.Parameters.Add(Sql.Parameter("request_id", NpgsqlDbType.Uuid, requestId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            // Deleted between the insert that found it and this read (retention or an ops cleanup): let the retry insert it.
            throw new TimeoutException($"request {requestId} vanished while being claimed");
        }

        return new ClaimedRow(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetGuid(1),
            reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2), reader.IsDBNull(3) ? null : reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetFieldValue<DateTimeOffset>(5), reader.GetInt32(6),
            reader.GetFieldValue<DateTimeOffset>(7));
    }

    private static async Task<ClaimedDeferral?> ReadDeferralAsync(NpgsqlConnection connection, Guid requestId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(LockDeferralSql, connection);
        command.Parameters.Add(Sql.Parameter("request_id", NpgsqlDbType.Uuid, requestId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new ClaimedDeferral(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt32(2), reader.GetInt32(3),
            reader.GetInt32(4), reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5))
        {
            CostUsd = reader.GetDecimal(6),
            Route = reader.IsDBNull(7) ? null : reader.GetString(7),
        };
    }

    private static Task<DateTimeOffset?> CompletedAtAsync(NpgsqlConnection connection, Guid requestId, CancellationToken cancellationToken) =>
        TimeAsync(connection, "SELECT completed_at FROM requests WHERE request_id = @request_id", requestId, cancellationToken);

    private static Task<DateTimeOffset?> DeferredAtAsync(NpgsqlConnection connection, Guid requestId, CancellationToken cancellationToken) =>
        TimeAsync(connection, "SELECT deferred_at FROM deferred_requests WHERE request_id = @request_id", requestId, cancellationToken);

    private static async Task<DateTimeOffset?> TimeAsync(NpgsqlConnection connection, string sql, Guid requestId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(Sql.Parameter("request_id", NpgsqlDbType.Uuid, requestId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) && !reader.IsDBNull(0) ? reader.GetFieldValue<DateTimeOffset>(0) : null;
    }

    private static NpgsqlParameter[] ClaimParameters(RequestRow row, TimeSpan lease) =>
    [
        Sql.Parameter("request_id", NpgsqlDbType.Uuid, row.RequestId),
        Sql.Parameter("payload_hash", NpgsqlDbType.Varchar, row.PayloadHash),
        Sql.Parameter("claimed_by", NpgsqlDbType.Varchar, row.ClaimedBy),
        Sql.Parameter("claim_token", NpgsqlDbType.Uuid, row.ClaimToken),
        Sql.Parameter("lease", NpgsqlDbType.Interval, lease),
    ];

    private static NpgsqlParameter[] OutcomeParameters(RequestRow row, bool overwrite) =>
    [
        Sql.Parameter("request_id", NpgsqlDbType.Uuid, row.RequestId),
        Sql.Parameter("conversation_id", NpgsqlDbType.Varchar, row.ConversationId),
        Sql.Parameter("chain", NpgsqlDbType.Varchar, row.Chain),
        Sql.Parameter("status", NpgsqlDbType.Varchar, row.Status),
        Sql.Parameter("received_at", NpgsqlDbType.TimestampTz, row.ReceivedAt),
        Sql.Parameter("first_attempt_at", NpgsqlDbType.TimestampTz, row.FirstAttemptAt),
        Sql.Parameter("completed_at", NpgsqlDbType.TimestampTz, row.CompletedAt),
        Sql.Parameter("provider", NpgsqlDbType.Varchar, row.Provider),
        Sql.Parameter("model", NpgsqlDbType.Varchar, row.Model),
        Sql.Parameter("fallback_used", NpgsqlDbType.Boolean, row.FallbackUsed),
        Sql.Parameter("attempt_count", NpgsqlDbType.Integer, row.AttemptCount),
        Sql.Parameter("input_tokens", NpgsqlDbType.Integer, row.InputTokens),
        Sql.Parameter("output_tokens", NpgsqlDbType.Integer, row.OutputTokens),
        Sql.Parameter("estimated_cost_usd", NpgsqlDbType.Numeric, row.EstimatedCostUsd),
        Sql.Parameter("failure_reason", NpgsqlDbType.Varchar, row.FailureReason),
        Sql.Parameter("error", NpgsqlDbType.Text, row.Error),
        Sql.Parameter("metadata", NpgsqlDbType.Jsonb, row.Metadata is null ? null : MetadataJson.Write(row.Metadata)),
        Sql.Parameter("prompt_hash", NpgsqlDbType.Varchar, row.PromptHash),
        Sql.Parameter("prompt", NpgsqlDbType.Text, row.Prompt),
        Sql.Parameter("response_hash", NpgsqlDbType.Varchar, row.ResponseHash),
        Sql.Parameter("response", NpgsqlDbType.Text, row.Response),
        Sql.Parameter("result", NpgsqlDbType.Jsonb, row.Result),
        Sql.Parameter("payload_hash", NpgsqlDbType.Varchar, row.PayloadHash),
        Sql.Parameter("tenant", NpgsqlDbType.Varchar, row.Tenant),
        Sql.Parameter("route", NpgsqlDbType.Jsonb, row.Route),
        Sql.Parameter("overwrite", NpgsqlDbType.Boolean, overwrite),
    ];

    private static NpgsqlParameter[] RejectParameters(RequestRow row) =>
    [
        Sql.Parameter("request_id", NpgsqlDbType.Uuid, row.RequestId),
        Sql.Parameter("conversation_id", NpgsqlDbType.Varchar, row.ConversationId),
        Sql.Parameter("chain", NpgsqlDbType.Varchar, row.Chain),
        Sql.Parameter("status", NpgsqlDbType.Varchar, row.Status),
        Sql.Parameter("received_at", NpgsqlDbType.TimestampTz, row.ReceivedAt),
        Sql.Parameter("completed_at", NpgsqlDbType.TimestampTz, row.CompletedAt),
        Sql.Parameter("failure_reason", NpgsqlDbType.Varchar, row.FailureReason),
        Sql.Parameter("error", NpgsqlDbType.Text, row.Error),
        Sql.Parameter("metadata", NpgsqlDbType.Jsonb, row.Metadata is null ? null : MetadataJson.Write(row.Metadata)),
        Sql.Parameter("prompt_hash", NpgsqlDbType.Varchar, row.PromptHash),
        Sql.Parameter("prompt", NpgsqlDbType.Text, row.Prompt),
        Sql.Parameter("result", NpgsqlDbType.Jsonb, row.Result),
        Sql.Parameter("payload_hash", NpgsqlDbType.Varchar, row.PayloadHash),
        Sql.Parameter("tenant", NpgsqlDbType.Varchar, row.Tenant),
    ];
}
