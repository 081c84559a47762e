using System.Security.Cryptography;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Worker.Chain;
using Worker.Messaging;
using Worker.Persistence;
using Worker.ProviderHealth;
using Worker.Requests;
using Worker.Telemetry;

namespace Worker.DeadLetters;

/// <summary>
/// Carries out replay operations, one at a time, oldest first, at DeadLetters:ReplayPerSecond. Operations and their
/// items are rows, so the work outlives the HTTP call that asked for it, and a restart resumes where it stopped.
/// </summary>
/// <remarks>
/// One runner in the cluster: the instance holding a PostgreSQL advisory lock. The lock belongs to a session, so it is
/// released when that instance stops or dies, and another instance takes over within OperationPollInterval.
/// Each item is marked replayed and its request sent in one transaction that commits after the broker confirmed the
/// send: an item is never marked without being sent. The request keeps its id, so the consumer re-publishes the stored
/// result of a request that has finished since, instead of calling a provider again.
/// <para>
/// A replay never burns its selection into new dead letters: while every step of an item's chain is unavailable (its
/// breaker open or isolated), the runner waits; then it sends one request alone, as the probe, and waits for its outcome
/// before sending the next.
/// </para>
/// </remarks>
public sealed class ReplayRunner(
    NpgsqlDataSource dataSource,
    IBus bus,
    ChainCatalog chains,
    CircuitBreakers breakers,
    IOptions<DeadLettersOptions> options,
    IOptions<MessagingOptions> messaging,
    TimeProvider time,
    ILogger<ReplayRunner> logger) : BackgroundService
{
    // "dl-rplay" as a number: the advisory lock that makes one instance the runner.
    private const long RunnerLock = 0x646c2d72706c6179;
    private const int BatchSize = 100;
    private static readonly TimeSpan ProbeLookInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ProbeOutcomeWait = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan MaxChainLook = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FailureBackoff = TimeSpan.FromSeconds(5);
    private readonly SemaphoreSlim _wake = new(0, 1);

    /// <summary>The span around a replayed request's send: a new trace, linked to the trace the request began in.</summary>
    public const string ReplaySpan = "worker.replay";

    /// <summary>A new operation was recorded: look now rather than at the next poll.</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                if (!await TryLockAsync(connection, stoppingToken))
                {
                    await IdleAsync(stoppingToken);
                    continue;
                }

                try
                {
                    await RunOperationsAsync(connection, stoppingToken);
                }
                finally
                {
                    // A pooled connection would keep the session lock while it idles in the pool.
                    if (connection.State == System.Data.ConnectionState.Open)
                    {
                        await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", connection);
                        await unlock.ExecuteNonQueryAsync(CancellationToken.None);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // PostgreSQL or the broker away: the operation stays where it was and resumes after the pause.
                Log.RunnerFailed(logger, e, FailureBackoff.TotalSeconds);
                try
                {
                    await Task.Delay(FailureBackoff, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task RunOperationsAsync(NpgsqlConnection lockConnection, CancellationToken stoppingToken)
    {
        while (true)
        {
            // Also proves the lock's session is still alive before more work is done under it.
            await using (var alive = new NpgsqlCommand("SELECT 1", lockConnection))
            {
                await alive.ExecuteScalarAsync(stoppingToken);
            }

            if (await NextOperationAsync(stoppingToken) is { } operation)
            {
                await RunAsync(operation, stoppingToken);
            }
            else
            {
                await IdleAsync(stoppingToken);
            }
        }
    }

    private async Task RunAsync(Operation operation, CancellationToken stoppingToken)
    {
        var settings = options.Value;
        await RunSqlAsync($"""
            UPDATE dead_letter_operations SET status = '{OperationStatus.Running}', started_at = COALESCE(started_at, @now) WHERE id = @id
            """, stoppingToken, ("id", operation.Id), ("now", time.GetUtcNow()));
        Log.ReplayRunning(logger, operation.Id, operation.RequestedBy, operation.RedirectChain ?? "(own)", settings.ReplayPerSecond);

        var endpoint = await bus.GetSendEndpoint(RequestQueue.SendAddress(messaging.Value));
        var pacer = new ReplayPacer(settings.ReplayPerSecond, time);
        while (await PendingItemsAsync(operation.Id, stoppingToken) is { Count: > 0 } batch)
        {
            foreach (var deadLetterId in batch)
            {
                await pacer.WaitAsync(stoppingToken);
                var probe = await WaitForCallableChainAsync(operation, deadLetterId, stoppingToken);
                if (await ReplayAsync(operation, deadLetterId, endpoint, stoppingToken) is { } sent && probe)
                {
                    Log.ReplayProbeEnded(logger, operation.Id, sent, await WaitForOutcomeAsync(sent, stoppingToken));
                }
            }
        }

        var (done, skipped) = await FinishAsync(operation.Id, stoppingToken);
        Log.ReplayFinished(logger, operation.Id, done, skipped);
    }

    /// <summary>The request id sent, or null when the item was skipped.</summary>
    private async Task<Guid?> ReplayAsync(Operation operation, Guid deadLetterId, ISendEndpoint endpoint, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        string? status = null, message = null, traceParent = null;
        Guid? requestId = null;
        await using (var read = new NpgsqlCommand("""
            SELECT d.status, d.message::text, d.request_id, (SELECT r.trace_parent FROM requests r WHERE r.request_id = d.request_id)
            FROM dead_letters d WHERE d.id = @id FOR UPDATE
            """, connection))
        {
            read.Parameters.AddWithValue("id", deadLetterId);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                status = reader.GetString(0);
                message = reader.IsDBNull(1) ? null : reader.GetString(1);
                requestId = reader.IsDBNull(2) ? null : reader.GetGuid(2);
                traceParent = reader.IsDBNull(3) ? null : reader.GetString(3);
            }
        }

        var request = StoredJson.ReadRequest(message);
        var skip = status is null ? "deleted since it was selected"
            : status != DeadLetterStatus.Parked ? $"no longer parked ({status})"
            : request is null ? "no request to send"
            : null;
        var now = time.GetUtcNow();
        await using var batch = new NpgsqlBatch(connection);
        if (skip is not null)
        {
            batch.BatchCommands.Add(Command($"""
                UPDATE dead_letter_operation_items SET state = '{ItemState.Skipped}', done_at = @now, note = @note
                WHERE operation_id = @operation AND dead_letter_id = @id
                """, ("operation", operation.Id), ("id", deadLetterId), ("now", now), ("note", skip)));
            batch.BatchCommands.Add(Command("UPDATE dead_letter_operations SET skipped = skipped + 1 WHERE id = @operation", ("operation", operation.Id)));
            await batch.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            Log.ItemSkipped(logger, operation.Id, deadLetterId, skip);
            return null;
        }

        batch.BatchCommands.Add(Command($"""
            UPDATE dead_letters SET status = '{DeadLetterStatus.Replayed}', resolved_at = @now, resolved_by = @who, operation_id = @operation
            WHERE id = @id
            """, ("id", deadLetterId), ("now", now), ("who", operation.RequestedBy), ("operation", operation.Id)));
        if (requestId is { } id)
        {
            // A parked request goes back in flight (on the redirect chain if any); a finished one stays finished, and its
            // stored result is what the consumer will publish.
            var redirect = new NpgsqlParameter("chain", NpgsqlDbType.Varchar) { Value = (object?)operation.RedirectChain ?? DBNull.Value };
            var requestUpdate = Command($"""
                UPDATE requests
                SET replay_count = replay_count + 1,
                    status = CASE WHEN status = '{RequestStatus.Parked}' THEN '{RequestStatus.Replayed}' ELSE status END,
                    chain = CASE WHEN status = '{RequestStatus.Parked}' AND @chain IS NOT NULL THEN @chain ELSE chain END,
                    -- Redirected, the request's payload changes (its chain): the next claim stores the new hash.
                    payload_hash = CASE WHEN status = '{RequestStatus.Parked}' AND @chain IS NOT NULL THEN NULL ELSE payload_hash END
                WHERE request_id = @request
                """, ("request", id));
            requestUpdate.Parameters.Add(redirect);
            batch.BatchCommands.Add(requestUpdate);
        }

        batch.BatchCommands.Add(Command($"""
            UPDATE dead_letter_operation_items SET state = '{ItemState.Done}', done_at = @now WHERE operation_id = @operation AND dead_letter_id = @id
            """, ("operation", operation.Id), ("id", deadLetterId), ("now", now)));
        batch.BatchCommands.Add(Command("UPDATE dead_letter_operations SET done = done + 1 WHERE id = @operation", ("operation", operation.Id)));
        await batch.ExecuteNonQueryAsync(cancellationToken);

        var replay = operation.RedirectChain is { } chain ? request! with { Chain = chain } : request!;
        // A replay is an ops act of its own, maybe days later: a trace of its own, linked to the request's first one.
        using var span = WorkerActivity.StartResend(ReplaySpan, traceParent, link: true, replay.RequestId);
        span?.SetTag("worker.replay.operation", operation.Id.ToString());
        await endpoint.Send(replay, send =>
        {
            send.MessageId = ReplayMessageId(operation.Id, deadLetterId);
            send.Headers.Set("X-Replay-Operation", operation.Id.ToString());
        }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        Log.ItemReplayed(logger, operation.Id, replay.RequestId, replay.Chain ?? "default");
        return replay.RequestId;
    }

    /// <summary>
    /// Waits while every step of the item's chain is unavailable on this instance's breakers; true when it had to wait, so
    /// that the next request goes alone, as the probe.
    /// </summary>
    private async Task<bool> WaitForCallableChainAsync(Operation operation, Guid deadLetterId, CancellationToken cancellationToken)
    {
        var chain = operation.RedirectChain ?? await ChainOfAsync(deadLetterId, cancellationToken);
        if (!chains.TryGet(chain, out var steps) || steps.Count == 0)
            return false;

        var waited = false;
        while (true)
        {
            // An open breaker whose break is over lets the next call through as its half-open probe.
            var now = time.GetUtcNow();
            var until = steps.Select(s => breakers.UnavailableUntil(s.Provider, s.Model)).ToList();
            if (until.Any(u => u is null || u <= now))
                return waited;

            var soonest = until.Min()!.Value;
            Log.ReplayWaitingForChain(logger, operation.Id, chain ?? ChainsOptions.DefaultChain, soonest);
            // Looked at again every few seconds at least: a ping may close a breaker before its break ends.
            var wait = soonest - now;
            await Task.Delay(wait < ProbeLookInterval ? ProbeLookInterval : wait > MaxChainLook ? MaxChainLook : wait, time, cancellationToken);
            waited = true;
        }
    }

    /// <summary>Waits until the request has an outcome (or <see cref="ProbeOutcomeWait"/> passed); returns its status.</summary>
    private async Task<string> WaitForOutcomeAsync(Guid requestId, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            await using var command = dataSource.CreateCommand("SELECT status FROM requests WHERE request_id = @id");
            command.Parameters.AddWithValue("id", requestId);
            var status = (string?)await command.ExecuteScalarAsync(cancellationToken) ?? "missing";
            if (RequestStatus.IsTerminal(status) || time.GetElapsedTime(started) > ProbeOutcomeWait)
                return status;
            await Task.Delay(ProbeLookInterval, time, cancellationToken);
        }
    }

    private async Task<string?> ChainOfAsync(Guid deadLetterId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT message->>'chain' FROM dead_letters WHERE id = @id");
        command.Parameters.AddWithValue("id", deadLetterId);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    /// <summary>The same item in the same operation always gets the same message id, so a resend after a crash is recognisable.</summary>
    internal static Guid ReplayMessageId(Guid operationId, Guid deadLetterId)
    {
        Span<byte> input = stackalloc byte[32];
        operationId.TryWriteBytes(input);
        deadLetterId.TryWriteBytes(input[16..]);
        return new Guid(SHA256.HashData(input)[..16]);
    }

    private async Task<bool> TryLockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", connection);
        command.Parameters.AddWithValue("key", RunnerLock);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private async Task<Operation?> NextOperationAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT id, requested_by, redirect_chain FROM dead_letter_operations
            WHERE kind = '{OperationKinds.Replay}' AND status IN ('{OperationStatus.Pending}', '{OperationStatus.Running}')
            ORDER BY requested_at, id
            LIMIT 1
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new Operation(reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2))
            : null;
    }

    private async Task<List<Guid>> PendingItemsAsync(Guid operationId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT dead_letter_id FROM dead_letter_operation_items
            WHERE operation_id = @id AND state = '{ItemState.Pending}'
            ORDER BY position
            LIMIT {BatchSize}
            """);
        command.Parameters.AddWithValue("id", operationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ids = new List<Guid>();
        while (await reader.ReadAsync(cancellationToken))
            ids.Add(reader.GetGuid(0));
        return ids;
    }

    private async Task<(int Done, int Skipped)> FinishAsync(Guid operationId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            UPDATE dead_letter_operations SET status = '{OperationStatus.Completed}', finished_at = @now WHERE id = @id
            RETURNING done, skipped
            """);
        command.Parameters.AddWithValue("id", operationId);
        command.Parameters.AddWithValue("now", time.GetUtcNow());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt32(0), reader.GetInt32(1));
    }

    private async Task RunSqlAsync(string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlBatchCommand Command(string sql, params (string Name, object Value)[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value);
        return command;
    }

    /// <summary>Waits for <see cref="Wake"/> or the poll interval, whichever comes first.</summary>
    private async Task IdleAsync(CancellationToken stoppingToken)
    {
        using var poll = new CancellationTokenSource(options.Value.OperationPollInterval, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, poll.Token);
        try
        {
            await _wake.WaitAsync(either.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // The poll interval passed.
        }
    }

    private sealed record Operation(Guid Id, string RequestedBy, string? RedirectChain);
}
