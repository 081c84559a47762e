using Microsoft.Extensions.Options;
using Npgsql;
using Worker.LastResort;

namespace Worker.Retention;

/// <summary>Deletes finished requests older than the retention, in batches. The Quartz job calls it; tests call it directly.</summary>
public sealed class RetentionSweeper(NpgsqlDataSource dataSource, TimeProvider time, IOptions<RetentionOptions> options, ILogger<RetentionSweeper> logger,
    ResponseCache? cache = null, IOptions<LastResortOptions>? lastResort = null)
{
    // Only succeeded and failed rows are finished: received, in-progress, parked and replayed requests are never
    // swept, whatever their age. completed_at >= received_at, so the received_at bound changes nothing in the result
    // but lets the batch come from ix_requests_status_received_at instead of a scan. SKIP LOCKED: every worker
    // instance runs this job (in-memory Quartz store), and they share the work instead of queueing on each other.
    // Attempts are deleted in the same statement (the cascade would do it too) so that they can be counted.
    private const string DeleteBatch = """
        WITH doomed AS (
            SELECT request_id FROM requests
            WHERE status IN ('succeeded', 'failed') AND received_at < @cutoff AND completed_at < @cutoff
            LIMIT @batch
            FOR UPDATE SKIP LOCKED
        ),
        attempts_gone AS (
            DELETE FROM attempts a USING doomed d WHERE a.request_id = d.request_id RETURNING 1
        ),
        requests_gone AS (
            DELETE FROM requests r USING doomed d WHERE r.request_id = d.request_id RETURNING 1
        )
        SELECT (SELECT count(*) FROM requests_gone), (SELECT count(*) FROM attempts_gone)
        """;

    public async Task<RetentionResult> SweepAsync(CancellationToken cancellationToken)
    {
        await SweepCacheAsync(cancellationToken);
        var settings = options.Value;
        if (settings.Days == 0)
        {
            Log.KeepForever(logger);
            return new RetentionResult(null, 0, 0);
        }

        var cutoff = time.GetUtcNow() - TimeSpan.FromDays(settings.Days);
        long requests = 0, attempts = 0;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await using var command = dataSource.CreateCommand(DeleteBatch);
                command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("cutoff", cutoff.ToUniversalTime()));
                command.Parameters.Add(new NpgsqlParameter<int>("batch", settings.BatchSize));
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                var deleted = reader.GetInt64(0);
                requests += deleted;
                attempts += reader.GetInt64(1);

                // A short batch means nothing is left (or the rest is locked by another instance's sweep).
                if (deleted < settings.BatchSize)
                    break;
            }
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException)
        {
            Log.SweepFailed(logger, e, requests);
            return new RetentionResult(cutoff, requests, attempts);
        }

        Log.Swept(logger, requests, attempts, cutoff, settings.Days);
        return new RetentionResult(cutoff, requests, attempts);
    }

    /// <summary>
    /// The response cache has limits of its own, whatever Retention:Days says: entries past their stale limit go, then the
    /// oldest beyond LastResort:MaxCacheEntries. The cache's SQL stays with its one writer (<see cref="ResponseCache"/>).
    /// </summary>
    public async Task<(long Expired, long Trimmed)> SweepCacheAsync(CancellationToken cancellationToken)
    {
        if (cache is null || lastResort is null)
            return (0, 0);
        try
        {
            var (expired, trimmed) = await cache.SweepAsync(lastResort.Value.MaxCacheEntries, cancellationToken);
            Log.CacheSwept(logger, expired, trimmed, lastResort.Value.MaxCacheEntries);
            return (expired, trimmed);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException)
        {
            Log.CacheSweepFailed(logger, e);
            return (0, 0);
        }
    }
}

/// <summary>What one sweep deleted; <see cref="Cutoff"/> is null when retention is off.</summary>
public sealed record RetentionResult(DateTimeOffset? Cutoff, long Requests, long Attempts);
