using Npgsql;

namespace Worker.ProviderHealth;

/// <summary>
/// Counts today's calls and tokens (UTC day) of every provider and model with a daily quota from the audit trail, the
/// one record every instance writes, and hands them to <see cref="QuotaTracker"/>. Run on a schedule on every instance
/// (ProviderHealth:QuotaRefreshInterval), never per call: one indexed range scan per provider and model.
/// </summary>
/// <remarks>
/// The UTC day, not the provider's own reset: OpenAI and Gemini reset daily quotas at different, undocumented or
/// per-account times, while a UTC day is what the audit trail and an operator can both check. A provider that resets
/// earlier is merely under-used until midnight; the 429 it answers when it is really spent still closes it.
/// </remarks>
public sealed class DailyQuotaCounter(NpgsqlDataSource database, QuotaTracker tracker, TimeProvider time)
{
    private const string Sql = """
        SELECT a.provider, a.model, count(*), coalesce(sum(coalesce(a.input_tokens, 0)::bigint + coalesce(a.output_tokens, 0)), 0)::bigint
        FROM attempts a JOIN unnest(@providers::text[], @models::text[]) AS p(provider, model) USING (provider, model)
        WHERE a.started_at >= @day AND a.call_made
        GROUP BY a.provider, a.model
        """;

    /// <summary>Counts and hands the counts over; returns how many providers and models were counted.</summary>
    public async Task<int> RefreshAsync(CancellationToken cancellationToken)
    {
        var pairs = tracker.ConfiguredPairs();
        if (pairs.Count == 0)
            return 0;
        var now = time.GetUtcNow();
        var day = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        await using var command = database.CreateCommand(Sql);
        command.Parameters.Add(new NpgsqlParameter<string[]>("providers", [.. pairs.Select(p => p.Provider)]));
        command.Parameters.Add(new NpgsqlParameter<string[]>("models", [.. pairs.Select(p => p.Model)]));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("day", day));
        var usage = new List<DailyUsage>(pairs.Count);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                usage.Add(new DailyUsage(new ProviderModel(reader.GetString(0), reader.GetString(1)), reader.GetInt64(2), reader.GetInt64(3)));
        }

        tracker.Refreshed(usage, now);
        return pairs.Count;
    }
}
