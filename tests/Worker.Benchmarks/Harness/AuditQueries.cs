using Npgsql;

namespace Worker.Benchmarks.Harness;

/// <summary>Per request, what the worker's audit trail recorded about its provider calls.</summary>
/// <param name="ProviderSeconds">Time inside provider calls: the sum of each call's started_at..ended_at.</param>
public readonly record struct AuditedCalls(double ProviderSeconds, int Calls, int PrimaryCalls);

/// <summary>Reads the audit trail (the <c>attempts</c> table) of the benchmark's database.</summary>
public static class AuditQueries
{
    public static async Task<Dictionary<Guid, AuditedCalls>> CallsAsync(string connectionString, IReadOnlyCollection<Guid> requestIds, string primary,
        CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var command = source.CreateCommand("""
            SELECT request_id,
                   COALESCE(SUM(EXTRACT(EPOCH FROM ended_at - started_at)) FILTER (WHERE call_made), 0)::float8,
                   COUNT(*) FILTER (WHERE call_made)::int,
                   COUNT(*) FILTER (WHERE call_made AND provider = $2)::int
            FROM attempts
            WHERE request_id = ANY($1)
            GROUP BY request_id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = requestIds.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = primary });
        var calls = new Dictionary<Guid, AuditedCalls>(requestIds.Count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            calls[reader.GetGuid(0)] = new AuditedCalls(reader.GetDouble(1), reader.GetInt32(2), reader.GetInt32(3));
        return calls;
    }

    /// <summary>What the audit trail says the requests' calls cost: <c>SUM(attempts.cost_usd)</c>, beside the results' own figure.</summary>
    public static async Task<decimal> CostUsdAsync(string connectionString, IReadOnlyCollection<Guid> requestIds, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var command = source.CreateCommand("SELECT COALESCE(SUM(cost_usd), 0) FROM attempts WHERE request_id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = requestIds.ToArray() });
        return (decimal)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Steps of <paramref name="provider"/> that made no call, by reason: skipped (<c>breaker open</c>, <c>pacing</c>,
    /// <c>deadline</c>) or <c>deferred</c>.
    /// </summary>
    public static async Task<Dictionary<string, int>> SkipsAsync(string connectionString, IReadOnlyCollection<Guid> requestIds, string provider,
        CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        // Notes read "skipped: breaker open", "skipped: pacing: gemini answered 429, closed until ..." or "deferred: ...".
        await using var command = source.CreateCommand("""
            SELECT CASE WHEN split_part(note, ':', 1) = 'skipped' THEN trim(split_part(note, ':', 2)) ELSE trim(split_part(note, ':', 1)) END,
                   COUNT(*)::int
            FROM attempts
            WHERE request_id = ANY($1) AND provider = $2 AND NOT call_made
            GROUP BY 1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = requestIds.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = provider });
        var skips = new Dictionary<string, int>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            skips[reader.IsDBNull(0) ? "?" : reader.GetString(0)] = reader.GetInt32(1);
        return skips;
    }

    /// <summary>
    /// The longest backoff <paramref name="provider"/>'s steps waited before a retry after a server or network error (the
    /// chain's BaseDelay doubled per retry, with jitter); null when there was no such retry.
    /// </summary>
    public static async Task<double?> LongestBackoffMsAsync(string connectionString, IReadOnlyCollection<Guid> requestIds, string provider,
        CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var command = source.CreateCommand("""
            SELECT MAX(wait_ms)::float8
            FROM attempts
            WHERE request_id = ANY($1) AND provider = $2 AND decision = 'retried' AND error_class IN ('server', 'network')
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = requestIds.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = provider });
        return await command.ExecuteScalarAsync(cancellationToken) is double longest ? longest : null;
    }

    public static async Task<string> ServerVersionAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var command = source.CreateCommand("SHOW server_version");
        return (string?)await command.ExecuteScalarAsync(cancellationToken) ?? "?";
    }
}
