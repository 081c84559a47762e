using Npgsql;
using NpgsqlTypes;
using Worker.Audit;
using Worker.Persistence;

namespace Worker.LastResort;

/// <summary>An answer found in the response cache, and how old it is.</summary>
public sealed record CachedAnswer(string Text, string Provider, string Model, int? InputTokens, int? OutputTokens, double AgeSeconds);

/// <summary>
/// The <c>response_cache</c> table, its one writer. Freshness and staleness are judged on PostgreSQL's clock, like claim
/// leases, so instances whose clocks disagree agree on what is fresh. Each entry keeps the limits it was written with.
/// </summary>
public sealed class ResponseCache(NpgsqlDataSource database)
{
    private const int NameLength = 128;

    private const string FindSql = """
        SELECT text, provider, model, input_tokens, output_tokens, EXTRACT(EPOCH FROM now() - created_at)::float8
        FROM response_cache
        WHERE key = @key AND stale_until > now()
        """;

    private const string FreshCondition = " AND expires_at > now() AND (@max_age IS NULL OR created_at >= now() - make_interval(secs => @max_age))";

    private const string StoreSql = """
        INSERT INTO response_cache (key, chain, text, provider, model, input_tokens, output_tokens, created_at, expires_at, stale_until)
        VALUES (@key, @chain, @text, @provider, @model, @input_tokens, @output_tokens, now(),
                now() + make_interval(secs => @ttl), now() + make_interval(secs => @ttl + @stale))
        ON CONFLICT (key) DO UPDATE
        SET chain = excluded.chain, text = excluded.text, provider = excluded.provider, model = excluded.model,
            input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
            created_at = excluded.created_at, expires_at = excluded.expires_at, stale_until = excluded.stale_until
        """;

    // Past their stale limit, entries can answer nothing: gone. Then the oldest beyond the bound.
    private const string SweepSql = """
        WITH expired AS (
            DELETE FROM response_cache WHERE stale_until <= now() RETURNING 1
        )
        SELECT count(*) FROM expired
        """;

    private const string TrimSql = """
        WITH doomed AS (
            SELECT key FROM response_cache ORDER BY created_at DESC OFFSET @max_entries
        ),
        gone AS (
            DELETE FROM response_cache c USING doomed d WHERE c.key = d.key RETURNING 1
        )
        SELECT count(*) FROM gone
        """;

    /// <summary>
    /// The entry under <paramref name="key"/> when it is fresh (and no older than <paramref name="maxAgeSeconds"/>), or, with
    /// <paramref name="staleAllowed"/>, still within its stale limit; else null.
    /// </summary>
    public async Task<CachedAnswer?> FindAsync(string key, bool staleAllowed, int? maxAgeSeconds, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(staleAllowed ? FindSql : FindSql + FreshCondition);
        command.Parameters.Add(Sql.Parameter("key", NpgsqlDbType.Varchar, key));
        if (!staleAllowed)
            command.Parameters.Add(Sql.Parameter("max_age", NpgsqlDbType.Double, maxAgeSeconds is { } age ? (double)age : null));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        return new CachedAnswer(reader.GetString(0), reader.GetString(1), reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetInt32(3), reader.IsDBNull(4) ? null : reader.GetInt32(4), Math.Max(0, reader.GetDouble(5)));
    }

    /// <summary>Stores or refreshes the entry: one upsert.</summary>
    public async Task StoreAsync(string key, string chain, string text, string provider, string model, int? inputTokens, int? outputTokens,
        ResponseCacheOptions limits, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(StoreSql);
        command.Parameters.Add(Sql.Parameter("key", NpgsqlDbType.Varchar, key));
        command.Parameters.Add(Sql.Parameter("chain", NpgsqlDbType.Varchar, AuditText.Clean(chain, NameLength)));
        command.Parameters.Add(Sql.Parameter("text", NpgsqlDbType.Text, AuditText.Clean(text)));
        command.Parameters.Add(Sql.Parameter("provider", NpgsqlDbType.Varchar, AuditText.Clean(provider, NameLength)));
        command.Parameters.Add(Sql.Parameter("model", NpgsqlDbType.Varchar, AuditText.Clean(model, NameLength)));
        command.Parameters.Add(Sql.Parameter("input_tokens", NpgsqlDbType.Integer, inputTokens));
        command.Parameters.Add(Sql.Parameter("output_tokens", NpgsqlDbType.Integer, outputTokens));
        command.Parameters.Add(Sql.Parameter("ttl", NpgsqlDbType.Double, (double)limits.TtlSeconds));
        command.Parameters.Add(Sql.Parameter("stale", NpgsqlDbType.Double, (double)limits.StaleSeconds));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Deletes entries past their stale limit, then the oldest beyond <paramref name="maxEntries"/>; returns both counts.</summary>
    public async Task<(long Expired, long Trimmed)> SweepAsync(int maxEntries, CancellationToken cancellationToken)
    {
        await using var expire = database.CreateCommand(SweepSql);
        var expired = (long)(await expire.ExecuteScalarAsync(cancellationToken))!;
        await using var trim = database.CreateCommand(TrimSql);
        trim.Parameters.Add(Sql.Parameter("max_entries", NpgsqlDbType.Integer, maxEntries));
        var trimmed = (long)(await trim.ExecuteScalarAsync(cancellationToken))!;
        return (expired, trimmed);
    }
}
