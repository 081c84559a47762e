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

    /// <summary>Steps skipped without a call, by reason (<c>breaker open</c>, <c>pacing</c>, <c>deadline</c>).</summary>
    public static async Task<Dictionary<string, int>> SkipsAsync(string connectionString, IReadOnlyCollection<Guid> requestIds,
        CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        // Notes read "skipped: breaker open" or "skipped: pacing: gemini answered 429, closed until ...".
        await using var command = source.CreateCommand("""
            SELECT trim(split_part(note, ':', 2)), COUNT(*)::int
            FROM attempts
            WHERE request_id = ANY($1) AND NOT call_made
            GROUP BY 1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = requestIds.ToArray() });
        var skips = new Dictionary<string, int>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            skips[reader.IsDBNull(0) ? "?" : reader.GetString(0)] = reader.GetInt32(1);
        return skips;
    }

    public static async Task<string> ServerVersionAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var command = source.CreateCommand("SHOW server_version");
        return (string?)await command.ExecuteScalarAsync(cancellationToken) ?? "?";
    }
}
