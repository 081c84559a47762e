using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Quartz;
using Worker.Persistence;
using Worker.Telemetry;

namespace Worker.Requests;

/// <summary>
/// Brings deferred requests back: every Deferrals:PollInterval, the waiting rows that are due are re-published to the
/// request queue and marked released, in one transaction that commits after the broker confirmed the sends. Rows are
/// taken with FOR UPDATE SKIP LOCKED, so every instance runs this and none re-publishes what another is publishing.
/// </summary>
/// <remarks>
/// The resume position stays in the row (keyed by request id): the consumer's claim reads it under the same row lock,
/// which also makes a delivery that arrives before this transaction commits wait for it. The headers only tell a human
/// reading the queue what the message is. A crash between the sends and the commit leaves the rows waiting: they are
/// sent again, and the claim turns the second copy into a no-op. For the same reason a released row whose message nobody
/// claimed within Deferrals:ResendUnclaimedAfter (a lost message, a purged queue) is sent again: no deferred request
/// waits forever for a message that will not come.
/// </remarks>
public sealed class DeferralRelease(
    NpgsqlDataSource dataSource,
    IBus bus,
    IOptions<DeferralsOptions> options,
    IRequestQueue queue,
    TimeProvider time,
    ILogger<DeferralRelease> logger)
{
    public const string ResumeStepHeader = "X-Resume-Step";
    public const string ResumeAttemptHeader = "X-Resume-Attempt";
    public const string DeferralKindHeader = "X-Deferral-Kind";

    /// <summary>The span around a deferred request's send, a child of the delivery that first claimed it.</summary>
    public const string ReleaseSpan = "worker.deferral.release";

    private const string DueSql = $"""
        SELECT request_id, message::text, step_index, attempt, kind,
               (SELECT r.trace_parent FROM requests r WHERE r.request_id = deferred_requests.request_id)
        FROM deferred_requests
        WHERE (state = '{DeferralState.Waiting}' AND resume_at <= @now)
           OR (state = '{DeferralState.Released}' AND released_at <= @stale)
        ORDER BY resume_at
        LIMIT @batch
        FOR UPDATE SKIP LOCKED
        """;

    /// <summary>Re-publishes every due row, batch after batch; returns how many.</summary>
    public async Task<int> ReleaseDueAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            var released = await ReleaseBatchAsync(cancellationToken);
            total += released;
            if (released < options.Value.BatchSize)
            {
                return total;
            }
        }
    }

    private async Task<int> ReleaseBatchAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var due = new List<(Guid RequestId, string Message, int Step, int Attempt, string Kind, string? TraceParent)>();
        await using (var select = new NpgsqlCommand(DueSql, connection))
        {
            select.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", time.GetUtcNow()));
            select.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("stale", time.GetUtcNow() - options.Value.ResendUnclaimedAfter));
            select.Parameters.Add(new NpgsqlParameter<int>("batch", options.Value.BatchSize));
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                due.Add((reader.GetGuid(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5)));
        }

        if (due.Count == 0)
        {
            return 0;
        }

        var endpoint = await bus.GetSendEndpoint(queue.SendAddress);
        var sent = new List<Guid>();
        var unreadable = new List<Guid>();
        await Task.WhenAll(due.Select(async row =>
        {
            if (StoredJson.ReadRequest(row.Message) is not { } request)
            {
                Log.Unreadable(logger, row.RequestId);
                lock (unreadable)
                    unreadable.Add(row.RequestId);
                return;
            }

            // The request's own trace goes on: the send, and the consume that resumes the chain, are in it.
            using var span = WorkerActivity.StartResend(ReleaseSpan, row.TraceParent, link: false, row.RequestId);
            await endpoint.Send(request, send =>
            {
                send.Headers.Set(ResumeStepHeader, row.Step);
                send.Headers.Set(ResumeAttemptHeader, row.Attempt);
                send.Headers.Set(DeferralKindHeader, row.Kind);
            }, cancellationToken);
            lock (sent)
                sent.Add(row.RequestId);
        }));

        await using var batch = new NpgsqlBatch(connection);
        var now = time.GetUtcNow();
        batch.BatchCommands.Add(Command($"UPDATE deferred_requests SET state = '{DeferralState.Released}', released_at = @now WHERE request_id = ANY(@ids)",
            new NpgsqlParameter<DateTimeOffset>("now", now), new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = sent.ToArray() }));
        batch.BatchCommands.Add(Command("UPDATE deferred_requests SET resume_at = @later WHERE request_id = ANY(@ids)",
            new NpgsqlParameter<DateTimeOffset>("later", now + TimeSpan.FromHours(1)),
            new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = unreadable.ToArray() }));
        await batch.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        Log.Released(logger, sent.Count, queue.Name);
        return due.Count;
    }

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }
}

/// <summary>Runs <see cref="DeferralRelease"/> every Deferrals:PollInterval.</summary>
[DisallowConcurrentExecution]
internal sealed class DeferralReleaseJob(DeferralRelease release, ILogger<DeferralReleaseJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        try
        {
            await release.ReleaseDueAsync(cancellationToken);
        }
        catch (Exception e) when (WriteRetry.IsTransient(e))
        {
            // PostgreSQL or the broker away: the rows stay waiting and the next firing tries again (no stack trace every second).
            Log.ReleaseUnavailable(logger, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.ReleaseFailed(logger, e);
        }
    }
}
