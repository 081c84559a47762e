using Microsoft.Extensions.Options;
using Npgsql;
using Quartz;
using Worker.Persistence;

namespace Worker.DeadLetters;

/// <summary>
/// Deletes resolved dead letters (archived, or replayed) once DeadLetters:ArchiveRetentionDays have passed since they were
/// resolved, in batches. Parked items are never deleted, whatever their age. The operations stay: they are the record
/// of what ops did; their items go with the dead letters.
/// </summary>
public sealed class DeadLetterRetention(NpgsqlDataSource dataSource, TimeProvider time, IOptions<DeadLettersOptions> options,
    ILogger<DeadLetterRetention> logger)
{
    private const int BatchSize = 5_000;

    private const string DeleteBatch = $"""
        WITH doomed AS (
            SELECT id FROM dead_letters
            WHERE status IN ('{DeadLetterStatus.Archived}', '{DeadLetterStatus.Replayed}') AND resolved_at < @cutoff
            LIMIT @batch
            FOR UPDATE SKIP LOCKED
        )
        DELETE FROM dead_letters d USING doomed WHERE d.id = doomed.id
        """;

    /// <summary>The number of dead letters deleted (0 when retention is off).</summary>
    public async Task<long> SweepAsync(CancellationToken cancellationToken)
    {
        var days = options.Value.ArchiveRetentionDays;
        if (days == 0)
            return 0;

        var cutoff = time.GetUtcNow() - TimeSpan.FromDays(days);
        long deleted = 0;
        while (true)
        {
            await using var command = dataSource.CreateCommand(DeleteBatch);
            command.Parameters.AddWithValue("cutoff", cutoff);
            command.Parameters.AddWithValue("batch", BatchSize);
            var batch = await command.ExecuteNonQueryAsync(cancellationToken);
            deleted += batch;
            if (batch < BatchSize)
                break;
        }

        Log.RetentionSwept(logger, deleted, cutoff, days);
        return deleted;
    }
}

/// <summary>The scheduled <see cref="DeadLetterRetention"/> sweep.</summary>
[DisallowConcurrentExecution]
internal sealed class DeadLetterRetentionJob(DeadLetterRetention retention) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await retention.SweepAsync(cancellationToken);
}
