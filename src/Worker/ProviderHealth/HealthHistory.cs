using Microsoft.Extensions.Options;
using Npgsql;

namespace Worker.ProviderHealth;

/// <summary>Keeps the health tables bounded: pings, breaker events and resolved alerts for HistoryDays, slots for a day.</summary>
public sealed class HealthHistory(NpgsqlDataSource database, IOptions<ProviderHealthOptions> options, TimeProvider time, ILogger<HealthHistory> logger)
{
    // Open alerts are never deleted, whatever their age. Each delete goes through an index on its time column.
    // A null cutoff (HistoryDays = 0) keeps the history; slots are pruned regardless.
    private const string Prune = """
        WITH pings AS (DELETE FROM provider_pings WHERE pinged_at < @cutoff RETURNING 1),
             events AS (DELETE FROM breaker_events WHERE at < @cutoff RETURNING 1),
             alerts AS (DELETE FROM provider_alerts WHERE resolved_at < @cutoff RETURNING 1),
             slots AS (DELETE FROM provider_health_slots WHERE claimed_at < @slot_cutoff RETURNING 1)
        SELECT (SELECT count(*) FROM pings) + (SELECT count(*) FROM events) + (SELECT count(*) FROM alerts) + (SELECT count(*) FROM slots)
        """;

    /// <summary>Returns the rows deleted.</summary>
    public async Task<long> PruneAsync(CancellationToken cancellationToken)
    {
        var days = options.Value.HistoryDays;
        var now = time.GetUtcNow();
        await using var command = database.CreateCommand(Prune);
        command.Parameters.Add(new NpgsqlParameter("cutoff", days == 0 ? DBNull.Value : (now - TimeSpan.FromDays(days)).ToUniversalTime())
        {
            NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz,
        });
        // A slot only has to outlive the instants instances could still claim it at.
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("slot_cutoff", (now - TimeSpan.FromDays(1)).ToUniversalTime()));
        var deleted = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        Log.HistoryPruned(logger, deleted, days);
        return deleted;
    }
}
